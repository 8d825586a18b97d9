const u = new URL('./x.png', import.meta.url);
