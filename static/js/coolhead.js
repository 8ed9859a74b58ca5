// Small behaviours htmx does not cover. No inline scripts: the CSP forbids them.

// The declare form asks the rollback question only for a major severity.
function showMajorOnly() {
  const checked = document.querySelector("[data-severity-picker] input[name=severity]:checked");
  const major = checked && (checked.value === "1" || checked.value === "2");
  document.querySelectorAll("[data-major-only]").forEach((el) => {
    el.hidden = !major;
  });
}
document.addEventListener("change", (event) => {
  if (event.target.name === "severity" && event.target.closest("[data-severity-picker]")) showMajorOnly();
});
document.addEventListener("DOMContentLoaded", showMajorOnly);

// --- Live updates: server-sent events (htmx's sse extension), polling as the fallback ---------

// A stream opened again by the extension (after an error) starts from what the room shows now,
// not from what it showed when the page loaded; the browser's own reconnect sends Last-Event-ID.
if (window.htmx) {
  htmx.createEventSource = (url) => {
    const shown = document.getElementById("room-rev");
    if (shown && /[?&]rev=/.test(url)) url = url.replace(/([?&]rev=)\d*/, "$1" + encodeURIComponent(shown.value));
    return new EventSource(url, { withCredentials: true });
  };
}

// Each stream's state on its element: a poller marked data-unless-live="<stream id>" stays
// quiet while that stream is open, and takes over when it is not.
document.addEventListener("htmx:sseOpen", (event) => {
  event.target.dataset.live = "open";
});
document.addEventListener("htmx:sseError", (event) => {
  event.target.dataset.live = "closed";
});
document.addEventListener("htmx:sseClose", (event) => {
  event.target.dataset.live = "closed";
  // "reload": the server says the page is out of date beyond patching, or no longer yours to see.
  if (event.detail && event.detail.type === "message") window.location.reload();
});
document.addEventListener("htmx:beforeRequest", (event) => {
  const streamId = event.detail.elt && event.detail.elt.dataset && event.detail.elt.dataset.unlessLive;
  const stream = streamId && document.getElementById(streamId);
  const config = event.detail.requestConfig;
  const trigger = config && config.triggeringEvent;
  const fromStream = trigger && typeof trigger.type === "string" && trigger.type.startsWith("sse:");
  if (stream && stream.dataset.live === "open" && !fromStream) event.preventDefault();
});

// While one of the person's own changes is on its way (a form posted in the room), news waits:
// their answer is drawn first, then what others did, so that the answer does not undo the news
// (or close a fold they opened meanwhile). Held events are played again once it has come back.
let ownChangesInFlight = 0;
const heldEvents = [];
function isOwnChange(event) {
  const config = event.detail.requestConfig;
  return config && config.verb !== "get" && event.detail.elt && event.detail.elt.closest("#room");
}
document.addEventListener("htmx:sseOpen", (event) => {
  event.target.liveSource = event.detail.source;
});
document.addEventListener("htmx:beforeSend", (event) => {
  if (isOwnChange(event)) ownChangesInFlight += 1;
});
document.addEventListener("htmx:afterRequest", (event) => {
  if (!isOwnChange(event)) return;
  ownChangesInFlight = Math.max(0, ownChangesInFlight - 1);
  if (ownChangesInFlight > 0) return;
  for (const held of heldEvents.splice(0)) {
    held.source.dispatchEvent(new MessageEvent(held.type, { data: held.data, lastEventId: held.lastEventId }));
  }
});

// An event the room has already applied (a form's own answer got there first) is skipped.
document.addEventListener("htmx:sseBeforeMessage", (event) => {
  const message = event.detail;
  const source = event.target.liveSource;
  if (ownChangesInFlight > 0 && source) {
    heldEvents.push({ source, type: message.type, data: message.data, lastEventId: message.lastEventId });
    event.preventDefault();
    return;
  }
  const shown = document.getElementById("room-rev");
  const brings = Number(message && message.lastEventId);
  if (shown && brings && brings <= Number(shown.value)) event.preventDefault();
});

// Two answers may both bring an entry (a stream event and a form's answer overlap): keep the newest copy.
function dropRepeatedEntries() {
  const seen = new Set();
  document.querySelectorAll("#timeline-entries article.entry[id]").forEach((entry) => {
    if (seen.has(entry.id)) entry.remove();
    else seen.add(entry.id);
  });
}
document.addEventListener("htmx:oobAfterSwap", dropRepeatedEntries);
document.addEventListener("htmx:afterSwap", dropRepeatedEntries);

// A part of the room is never replaced by an older drawing of it: each carries the revision it
// was drawn at (data-rev), and news that arrives late (held while the person's own change was on
// its way, or overtaken by another answer) leaves a newer part as it is.
document.addEventListener("htmx:oobBeforeSwap", (event) => {
  const target = event.detail.target;
  const incoming = event.detail.fragment && event.detail.fragment.firstElementChild;
  const shown = target && target.dataset && Number(target.dataset.rev);
  const brought = incoming && incoming.dataset && Number(incoming.dataset.rev);
  if (shown && brought && brought < shown) event.detail.shouldSwap = false;
});

// A panel redrawn by news (a stream event, a poll, another control's answer) keeps the folds
// (<details>) that the person had open: they were about to use what is inside.
document.addEventListener("htmx:oobBeforeSwap", (event) => {
  const target = event.detail.target;
  if (!target || !target.querySelectorAll) return;
  const open = Array.from(target.querySelectorAll("details[open] > summary"), (s) => s.textContent.trim());
  if (open.length) event.detail.fragment.__openFolds = { id: target.id, open };
});
document.addEventListener("htmx:oobAfterSwap", (event) => {
  const kept = event.detail.fragment && event.detail.fragment.__openFolds;
  const panel = kept && kept.id && document.getElementById(kept.id);
  if (!panel) return;
  panel.querySelectorAll("details:not([open]) > summary").forEach((summary) => {
    if (kept.open.includes(summary.textContent.trim())) summary.parentElement.open = true;
  });
});
