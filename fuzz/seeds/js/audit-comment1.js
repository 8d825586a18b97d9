import("./a.js" /*# sourceMappingURL=b.map */)
