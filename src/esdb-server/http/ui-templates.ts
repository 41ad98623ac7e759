// The UI's pages as eta templates (auto-escaping: `<%= %>` escapes every value; `<%~ %>` is used
// only for the layout's body and included partials). Kept in a module rather than .eta files so
// the compiled build (dist/) carries them without a copy step.
import { Eta } from 'eta';

const layout = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false,"selfRequestsOnly":true,"historyCacheSize":0}'>
<title><%= it.title %> · event store</title>
<link rel="stylesheet" href="/ui/assets/ui.css">
<script src="/ui/assets/htmx.min.js" defer></script>
</head>
<body>
<header>
  <a class="brand" href="/ui/">event store</a>
  <nav>
    <a href="/ui/"<% if (it.nav === 'dashboard') { %> aria-current="page"<% } %>>Dashboard</a>
    <a href="/ui/streams"<% if (it.nav === 'streams') { %> aria-current="page"<% } %>>Streams</a>
    <a href="/ui/trace"<% if (it.nav === 'trace') { %> aria-current="page"<% } %>>Trace</a>
    <a href="/ui/subscriptions"<% if (it.nav === 'subscriptions') { %> aria-current="page"<% } %>>Persistent subscriptions</a>
    <a href="/ui/projections"<% if (it.nav === 'projections') { %> aria-current="page"<% } %>>Projections</a>
  </nav>
  <form class="quick" action="/ui/streams" method="get" role="search">
    <input name="q" placeholder="stream name or prefix" aria-label="stream name or prefix">
  </form>
  <form class="quick" action="/ui/trace" method="get">
    <input name="id" placeholder="correlation id" aria-label="correlation id">
  </form>
</header>
<main>
<h1><%= it.title %></h1>
<% if (it.notice) { %><p class="notice" role="status"><%= it.notice %></p><% } %>
<%~ it.body %>
</main>
</body>
</html>`;

const dashboard = `<% layout('@layout', it) %>
<section id="live" hx-get="/ui/" hx-trigger="every 2s" hx-select="#live" hx-swap="outerHTML">
<dl class="figures">
  <div><dt>Events in the store</dt><dd data-figure="events"><%= it.h.num(it.events) %></dd></div>
  <div><dt>Appends / s</dt><dd data-figure="appends-per-second"><%= it.h.rate(it.rates.appendsPerSecond) %></dd></div>
  <div><dt>Events appended / s</dt><dd><%= it.h.rate(it.rates.appendedEventsPerSecond) %></dd></div>
  <div><dt>Reads / s</dt><dd data-figure="reads-per-second"><%= it.h.rate(it.rates.readsPerSecond) %></dd></div>
  <div><dt>Writer queue</dt><dd data-figure="writer-queue"><%= it.writerQueue %></dd></div>
  <div><dt>Catch-up subscriptions</dt><dd data-figure="subscriptions"><%= it.subscriptions %></dd></div>
  <div><dt>Persistent groups</dt><dd><%= it.groups %> (<%= it.consumers %> consumers)</dd></div>
  <div><dt>Parked messages</dt><dd data-figure="parked"><%= it.parked %></dd></div>
  <div><dt>Uptime</dt><dd data-figure="uptime"><%= it.h.duration(it.uptimeMs) %></dd></div>
  <div><dt>Version</dt><dd><%= it.version %></dd></div>
</dl>
</section>
<p>Trace a request: type its correlation id (the <code>x-correlation-id</code> of the HTTP call) above, or open any event and follow its <code>$correlationId</code>.</p>`;

const streamList = `<% if (it.rows.length === 0) { %><p class="empty">none</p><% } else { %>
<ul class="streams"><% for (const row of it.rows) { %>
  <li><a href="<%= it.h.streamUrl(row.stream) %>"><%= row.stream %></a><% if (row.createdMs !== undefined) { %> <time><%= it.h.time(row.createdMs) %></time><% } %></li>
<% } %></ul><% } %>`;

const streams = `<% layout('@layout', it) %>
<form action="/ui/streams" method="get" class="search">
  <label>Stream name or prefix <input name="q" value="<%= it.query ?? '' %>" required maxlength="1000"></label>
  <button>Search</button>
</form>
<% if (it.query !== undefined) { %>
<section id="results">
  <h2>Streams starting with “<%= it.query %>”</h2>
  <%~ include('@streamList', { rows: it.results, h: it.h }) %>
  <% if (!it.complete) { %><p class="empty">More may match: make the prefix longer.</p><% } %>
</section>
<% } %>
<div class="columns">
<section id="recently-created"><h2>Recently created</h2><%~ include('@streamList', { rows: it.created, h: it.h }) %></section>
<section id="recently-changed"><h2>Recently changed</h2><%~ include('@streamList', { rows: it.changed, h: it.h }) %></section>
</div>`;

const eventsTable = `<table class="events">
<thead><tr><th>#</th><th>Type</th><th>Stream</th><th>Created</th><th>Position</th><th>Size</th><th>Correlation</th></tr></thead>
<tbody>
<% for (const e of it.events) { %>
<tr data-revision="<%= e.linkRevision ?? e.revision %>">
  <% if (e.missingTarget !== undefined) { %>
  <td><%= e.revision %></td><td>$&gt; (target gone)</td><td colspan="5"><%= e.missingTarget %></td>
  <% } else { %>
  <td><a href="<%= it.h.eventUrl(it.stream, e.linkRevision ?? e.revision) %>"><%= e.linkRevision ?? e.revision %></a></td>
  <td><a href="<%= it.h.eventUrl(it.stream, e.linkRevision ?? e.revision) %>"><%= e.type %></a></td>
  <td><% if (e.stream !== it.stream) { %><a href="<%= it.h.eventUrl(e.stream, e.revision) %>"><%= e.revision %>@<%= e.stream %></a><% } else { %><%= e.stream %><% } %></td>
  <td><time><%= it.h.time(e.createdMs) %></time></td>
  <td><%= e.position %></td>
  <td><%= it.h.bytes(e.size) %></td>
  <td><% if (e.correlationId) { %><a href="<%= it.h.traceUrl(e.correlationId) %>"><%= e.correlationId %></a><% } %></td>
  <% } %>
</tr>
<% } %>
</tbody></table>`;

const stream = `<% layout('@layout', it) %>
<p class="meta">Last revision <strong><%= it.page.lastRevision %></strong><% if (it.linkStream) { %> · link stream: each row is a link to the event shown<% } %></p>
<section id="live"<% if (it.page.newer === undefined) { %> hx-get="<%= it.h.streamUrl(it.page.stream) %>" hx-trigger="every 2s" hx-select="#live" hx-swap="outerHTML"<% } %>>
<% if (it.page.events.length === 0) { %><p class="empty">no events on this page</p><% } else { %>
<%~ include('@eventsTable', { events: it.page.events, stream: it.page.stream, h: it.h }) %>
<% } %>
</section>
<nav class="paging">
  <% if (it.page.newer !== undefined) { %><a rel="prev" href="<%= it.h.streamUrl(it.page.stream) %>">Newest</a> <a rel="prev" href="<%= it.h.streamUrl(it.page.stream, it.page.newer) %>">Newer</a><% } %>
  <% if (it.page.older !== undefined) { %><a rel="next" href="<%= it.h.streamUrl(it.page.stream, it.page.older) %>">Older</a><% } %>
</nav>`;

const body = `<section class="payload" id="<%= it.id %>">
<h2><%= it.label %> <small><%= it.payload.description %></small></h2>
<pre><%= it.payload.text %></pre>
<% if (it.payload.truncated) { %><p><a href="<%= it.fullUrl %>">Show all <%= it.h.bytes(it.payload.totalBytes) %></a></p><% } %>
</section>`;

const event = `<% layout('@layout', it) %>
<dl class="fields">
  <div><dt>Stream</dt><dd><a href="<%= it.h.streamUrl(it.detail.summary.stream) %>"><%= it.detail.summary.stream %></a></dd></div>
  <div><dt>Revision</dt><dd><%= it.detail.summary.revision %></dd></div>
  <div><dt>Type</dt><dd data-field="type"><%= it.detail.summary.type %></dd></div>
  <div><dt>Event id</dt><dd><%= it.detail.summary.id %></dd></div>
  <div><dt>Created</dt><dd><time><%= it.h.time(it.detail.summary.createdMs) %></time></dd></div>
  <div><dt>Position</dt><dd><%= it.detail.summary.position %></dd></div>
  <div><dt>Content type</dt><dd><%= it.detail.summary.contentType %></dd></div>
  <% if (it.detail.summary.correlationId) { %><div><dt>Correlation</dt><dd><a data-field="correlation" href="<%= it.h.traceUrl(it.detail.summary.correlationId) %>">trace <%= it.detail.summary.correlationId %></a></dd></div><% } %>
  <% if (it.detail.summary.causationId) { %><div><dt>Causation</dt><dd><%= it.detail.summary.causationId %></dd></div><% } %>
</dl>
<% if (it.detail.link) { %>
<p class="link-note">Link <strong><%= it.detail.link.revision %></strong> of <a href="<%= it.h.streamUrl(it.detail.link.stream) %>"><%= it.detail.link.stream %></a>, pointing to
<a data-field="link-target" href="<%= it.h.eventUrl(it.detail.summary.stream, it.detail.summary.revision) %>"><%= it.detail.summary.revision %>@<%= it.detail.summary.stream %></a>
(<a href="<%= it.h.streamUrl(it.detail.summary.stream) %>">its stream</a>).</p>
<% } %>
<% if (it.data) { %><%~ include('@body', { id: 'data', label: 'Data', payload: it.data, fullUrl: it.fullUrl, h: it.h }) %><% } %>
<% if (it.metadata) { %><%~ include('@body', { id: 'metadata', label: 'Metadata', payload: it.metadata, fullUrl: it.fullUrl, h: it.h }) %><% } %>
<% if (it.linkMetadata) { %><%~ include('@body', { id: 'link-metadata', label: 'Link metadata', payload: it.linkMetadata, fullUrl: it.fullUrl, h: it.h }) %><% } %>
<nav class="paging">
  <% if (it.ownRevision > 0) { %><a rel="prev" href="<%= it.h.eventUrl(it.ownStream, it.ownRevision - 1) %>">Previous</a><% } %>
  <% if (it.ownRevision < it.detail.lastRevision) { %><a rel="next" href="<%= it.h.eventUrl(it.ownStream, it.ownRevision + 1) %>">Next</a><% } %>
</nav>`;

const traceForm = `<form action="/ui/trace" method="get" class="search">
  <label>Correlation id <input name="id" value="<%= it.correlationId ?? '' %>" required maxlength="1000"></label>
  <button>Trace</button>
</form>`;

const trace = `<% layout('@layout', it) %>
<%~ include('@traceForm', it) %>
<% if (it.rows) { %>
<p class="meta"><%= it.count %> events from <a href="<%= it.h.streamUrl('$bc-' + it.correlationId) %>">$bc-<%= it.correlationId %></a><% if (it.truncated) { %> (the first <%= it.count %> only)<% } %><% if (it.streamCount) { %>, across <%= it.streamCount %> streams<% } %>.</p>
<% if (it.rows.length === 0) { %><p class="empty">No event carries this correlation id.</p><% } else { %>
<p class="meta">Handling: when this store sent each event to each persistent subscription group, after its append, and how long the group took to ack (or nack) it, as the store saw it<% if (it.deliveryLogCapacity) { %> (kept in memory for each group's latest <%= it.h.num(it.deliveryLogCapacity) %> events)<% } %>. Spans of the service itself go to an OTLP collector (see the README).</p>
<table class="trace">
<thead><tr><th>Event</th><th>Stream</th><th>Created</th><th>+ from start</th><th>Gap from parent</th><th class="annotations">Handling</th></tr></thead>
<tbody>
<% for (const row of it.rows) { %>
<% if (row.kind === 'cause') { %>
<tr class="cause d-0" data-depth="0" data-cause="<%= row.causeId %>"><td colspan="5"><span class="node">caused by <code><%= row.causeId %></code></span> <small><%= row.childCount %> event<%= row.childCount === 1 ? '' : 's' %></small></td><td class="annotations"></td></tr>
<% } else { %>
<tr class="event d-<%= Math.min(row.depth, 24) %>" data-depth="<%= row.depth %>" data-event-id="<%= row.event.id %>" data-parent-id="<%= row.parentId ?? '' %>" data-stream="<%= row.event.stream %>" data-type="<%= row.event.type %>">
  <td><span class="node"><a href="<%= it.h.eventUrl(row.event.stream, row.event.revision) %>"><%= row.event.type %></a></span></td>
  <td><a href="<%= it.h.streamUrl(row.event.stream) %>"><%= row.event.stream %></a> #<%= row.event.revision %></td>
  <td><time><%= it.h.time(row.event.createdMs) %></time></td>
  <td>+<%= it.h.ms(row.offsetMs) %></td>
  <td><% if (row.gapMs !== undefined) { %>+<%= it.h.ms(row.gapMs) %><% } %></td>
  <td class="annotations"><% for (const a of row.annotations) { %><span class="handling" data-group="<%= a.label %>" data-outcome="<%= a.outcome ?? '' %>"><strong><%= a.label %></strong> <%= a.value %></span> <% } %></td>
</tr>
<% } %>
<% } %>
</tbody></table>
<% } %>
<% } %>`;

const groups = `<% layout('@layout', it) %>
<section id="live" hx-get="/ui/subscriptions" hx-trigger="every 2s" hx-select="#live" hx-swap="outerHTML">
<% if (it.groups.length === 0) { %><p class="empty">No persistent subscription groups.</p><% } else { %>
<table class="groups">
<thead><tr><th>Source</th><th>Group</th><th>Filter</th><th>Status</th><th>Connections</th><th>In flight</th><th>Last checkpoint</th><th>Behind by</th><th>Parked</th></tr></thead>
<tbody>
<% for (const g of it.groups) { %>
<tr data-group="<%= g.group %>">
  <td><%= g.source %></td>
  <td><a href="<%= it.h.groupUrl(g.source, g.group) %>"><%= g.group %></a></td>
  <td><%= g.filter ?? '' %></td>
  <td><%= g.status %></td>
  <td><%= g.connections %></td>
  <td><%= g.inFlight %></td>
  <td><%= g.lastCheckpoint ?? 'none' %></td>
  <td><%= g.behindBy ?? '' %></td>
  <td data-figure="parked"><%= g.parked %></td>
</tr>
<% } %>
</tbody></table>
<% } %>
</section>`;

const group = `<% layout('@layout', it) %>
<section id="live" hx-get="<%= it.h.groupUrl(it.g.source, it.g.group) %>" hx-trigger="every 2s" hx-select="#live" hx-swap="outerHTML">
<dl class="figures">
  <div><dt>Source</dt><dd><%= it.g.source === '$all' ? '$all' : '' %><% if (it.g.source !== '$all') { %><a href="<%= it.h.streamUrl(it.g.source) %>"><%= it.g.source %></a><% } %></dd></div>
  <% if (it.g.filter) { %><div><dt>Filter</dt><dd><%= it.g.filter %></dd></div><% } %>
  <div><dt>Status</dt><dd data-figure="status"><%= it.g.status %></dd></div>
  <div><dt>Connections</dt><dd data-figure="connections"><%= it.g.connections %></dd></div>
  <div><dt>In flight</dt><dd data-figure="in-flight"><%= it.g.inFlight %></dd></div>
  <div><dt>Last checkpoint</dt><dd><%= it.g.lastCheckpoint ?? 'none' %></dd></div>
  <div><dt>Behind by</dt><dd data-figure="behind-by"><%= it.g.behindBy ?? '' %></dd></div>
  <div><dt>Parked</dt><dd data-figure="parked"><%= it.g.parked %></dd></div>
  <div><dt>Delivered</dt><dd><%= it.h.num(it.g.totalItems) %></dd></div>
  <div><dt>Strategy</dt><dd><%= it.g.strategy %>, up to <%= it.g.maxRetryCount %> retries, timeout <%= it.h.ms(it.g.messageTimeoutMs) %></dd></div>
</dl>
<% if (it.g.connectionNames.length > 0) { %>
<h2>Connections</h2>
<ul><% for (const c of it.g.connectionNames) { %><li><%= c.name || '(unnamed)' %> from <%= c.from %>: <%= c.inFlight %> in flight, <%= c.totalItems %> delivered</li><% } %></ul>
<% } %>
<h2>Parked messages <small>(<a href="<%= it.h.streamUrl(it.g.parkedStream) %>"><%= it.g.parkedStream %></a>)</small></h2>
<% if (it.parked.length === 0) { %><p class="empty" id="no-parked">No parked messages.</p><% } else { %>
<table class="parked">
<thead><tr><th>Event</th><th>Parked</th><th>Reason</th><th>Data</th><th>Metadata</th></tr></thead>
<tbody>
<% for (const p of it.parked) { %>
<tr data-parked="<%= p.target %>">
  <td><% if (p.event) { %><a href="<%= it.h.eventUrl(p.event.stream, p.event.revision) %>"><%= p.event.type %> <%= p.event.revision %>@<%= p.event.stream %></a><% } else { %><%= p.target %> (gone)<% } %></td>
  <td><time><%= p.added ?? '' %></time></td>
  <td class="reason"><%= p.reason ?? '' %></td>
  <td><% if (p.data) { %><pre><%= p.data.text %></pre><% } %></td>
  <td><% if (p.metadata) { %><pre><%= p.metadata.text %></pre><% } %></td>
</tr>
<% } %>
</tbody></table>
<% if (it.moreParked) { %><p class="empty">The first <%= it.parked.length %> are shown.</p><% } %>
<% } %>
</section>
<section class="actions">
<h2>Actions</h2>
<form method="post" action="<%= it.h.groupUrl(it.g.source, it.g.group) %>/replay-parked">
  <label>Replay parked messages: how many <input name="count" inputmode="numeric" pattern="[0-9]*" placeholder="all"></label>
  <button>Replay parked…</button>
</form>
<form method="post" action="<%= it.h.groupUrl(it.g.source, it.g.group) %>/delete">
  <button class="danger">Delete this group…</button>
</form>
</section>`;

const confirm = `<% layout('@layout', it) %>
<p class="question"><%= it.question %></p>
<form method="post" action="<%= it.action %>">
  <% for (const [name, value] of it.fields) { %><input type="hidden" name="<%= name %>" value="<%= value %>"><% } %>
  <input type="hidden" name="confirm" value="yes">
  <button class="<%= it.danger ? 'danger' : '' %>"><%= it.confirmLabel %></button>
  <a href="<%= it.cancelUrl %>">Cancel</a>
</form>`;

const projections = `<% layout('@layout', it) %>
<section id="live" hx-get="/ui/projections" hx-trigger="every 5s" hx-select="#live" hx-swap="outerHTML">
<table class="projections">
<thead><tr><th>Name</th><th>Mode</th><th>Status</th><th>Position reached</th><th>Progress</th></tr></thead>
<tbody>
<% for (const p of it.projections) { %>
<tr data-projection="<%= p.name %>"><td><%= p.name %></td><td><%= p.mode %></td><td data-figure="status"><%= p.status %><% if (p.reason) { %>: <%= p.reason %><% } %></td><td data-figure="position"><%= p.position ?? '' %></td><td><%= p.progress === undefined ? '' : p.progress.toFixed(1) + '%' %></td></tr>
<% } %>
</tbody></table>
</section>
<p class="meta"><%= it.note %></p>`;

const error = `<% layout('@layout', it) %>
<p class="error"><%= it.message %></p>
<p><a href="/ui/">Back to the dashboard</a></p>`;

export function createUiTemplates(): Eta {
  const eta = new Eta({ autoEscape: true, useWith: false, cache: true, autoTrim: false });
  const templates: Record<string, string> = {
    layout,
    dashboard,
    streamList,
    streams,
    eventsTable,
    stream,
    body,
    event,
    traceForm,
    trace,
    groups,
    group,
    confirm,
    projections,
    error,
  };
  for (const [name, text] of Object.entries(templates)) eta.loadTemplate(`@${name}`, text);
  return eta;
}
