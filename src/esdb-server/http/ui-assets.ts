// The UI's own stylesheet (no bundler: served as it is). htmx comes from node_modules.
export const UI_CSS = `* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2329; background: #f6f7f9; }
header { display: flex; flex-wrap: wrap; gap: .75em 1.5em; align-items: center; padding: .6em 1.2em; background: #1f2a37; color: #fff; }
header a { color: #dbe4ee; text-decoration: none; }
header a[aria-current="page"], header a:hover { color: #fff; text-decoration: underline; }
header nav { display: flex; gap: 1em; }
.brand { font-weight: 700; color: #fff; }
.quick input { padding: .25em .5em; border-radius: 4px; border: 1px solid #4b5b6b; background: #2b3947; color: #fff; }
main { padding: 1em 1.5em 3em; max-width: 1400px; }
h1 { font-size: 1.4em; word-break: break-all; }
h2 { font-size: 1.1em; margin-top: 1.5em; }
a { color: #0a58ca; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #e3e6ea; vertical-align: top; }
th { background: #eef1f4; font-weight: 600; }
td { word-break: break-word; }
pre { margin: 0; padding: .6em; background: #fff; border: 1px solid #e3e6ea; overflow: auto; max-height: 40em; white-space: pre-wrap; word-break: break-all; }
td pre { max-height: 12em; font-size: 12px; }
.figures, .fields { display: grid; grid-template-columns: repeat(auto-fill, minmax(13em, 1fr)); gap: .6em; margin: 0 0 1em; }
.figures div, .fields div { background: #fff; border: 1px solid #e3e6ea; border-radius: 4px; padding: .5em .7em; }
dt { font-size: .8em; color: #5b6672; }
dd { margin: 0; font-size: 1.1em; overflow-wrap: anywhere; }
.columns { display: grid; grid-template-columns: 1fr 1fr; gap: 2em; }
.streams { list-style: none; padding: 0; }
.streams li { padding: .15em 0; }
time { color: #5b6672; font-size: .9em; }
.empty, .meta { color: #5b6672; }
.notice { background: #e7f5ea; border: 1px solid #a9d8b4; padding: .5em .8em; border-radius: 4px; }
.error { background: #fdecec; border: 1px solid #f1b0b0; padding: .5em .8em; border-radius: 4px; }
.search { margin: 0 0 1em; display: flex; gap: .5em; align-items: end; }
.search input { padding: .3em .5em; min-width: 24em; }
.paging { margin-top: 1em; display: flex; gap: 1em; }
.actions form { margin: .5em 0; }
button { padding: .35em .9em; border-radius: 4px; border: 1px solid #0a58ca; background: #0a58ca; color: #fff; cursor: pointer; }
button.danger { background: #b42318; border-color: #b42318; }
.trace .cause td { background: #f3f0fa; }
.trace .annotations { color: #5b6672; font-size: .9em; }
.trace .annotations .handling { display: block; white-space: nowrap; }
.trace .node::before { content: "└ "; color: #9aa4af; }
.trace tr.d-0 .node::before { content: ""; }
.link-note { background: #fff; border: 1px solid #e3e6ea; padding: .5em .8em; }
.trace tr.d-0 .node { padding-left: 0.00em; }
.trace tr.d-1 .node { padding-left: 1.25em; }
.trace tr.d-2 .node { padding-left: 2.50em; }
.trace tr.d-3 .node { padding-left: 3.75em; }
.trace tr.d-4 .node { padding-left: 5.00em; }
.trace tr.d-5 .node { padding-left: 6.25em; }
.trace tr.d-6 .node { padding-left: 7.50em; }
.trace tr.d-7 .node { padding-left: 8.75em; }
.trace tr.d-8 .node { padding-left: 10.00em; }
.trace tr.d-9 .node { padding-left: 11.25em; }
.trace tr.d-10 .node { padding-left: 12.50em; }
.trace tr.d-11 .node { padding-left: 13.75em; }
.trace tr.d-12 .node { padding-left: 15.00em; }
.trace tr.d-13 .node { padding-left: 16.25em; }
.trace tr.d-14 .node { padding-left: 17.50em; }
.trace tr.d-15 .node { padding-left: 18.75em; }
.trace tr.d-16 .node { padding-left: 20.00em; }
.trace tr.d-17 .node { padding-left: 21.25em; }
.trace tr.d-18 .node { padding-left: 22.50em; }
.trace tr.d-19 .node { padding-left: 23.75em; }
.trace tr.d-20 .node { padding-left: 25.00em; }
.trace tr.d-21 .node { padding-left: 26.25em; }
.trace tr.d-22 .node { padding-left: 27.50em; }
.trace tr.d-23 .node { padding-left: 28.75em; }
.trace tr.d-24 .node { padding-left: 30.00em; }
`;
