// esbuild bundles the stylesheets the page imports into app.css.
declare module '*.css'
