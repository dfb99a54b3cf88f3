// Files the bundle needs beside it at run time: [path under node_modules, file name in dist/].
export const assets = [];
