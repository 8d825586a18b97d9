if (x) /'/.test(s); import("./a.js")
