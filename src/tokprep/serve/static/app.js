// tokprep playground. No framework, no build step, nothing from the internet.
// Token text is only ever put in the page as text (textContent, createTextNode, title): a token
// that spells <script> or &amp; shows as itself. The heavy work (encoding, diffs, training) runs
// on the server; this file debounces typing, drops stale answers and renders in slices so the
// page never blocks for long.
"use strict";

const DEBOUNCE_MS = 120;
const SLICE = 2000; // tokens rendered per slice of main-thread work
const FALLBACK = ["gpt2", "verdict-bpe", "cl100k_base"];

const $ = (selector) => document.querySelector(selector);
const state = {
  view: "tokens",
  tokenizers: [],
  columns: [{}, {}, {}], // per column: {label, view, text}
  generation: 0, // bumped on every change of the text or a choice: stale work stops
  pending: 0,
  tokenCache: new Map(),
};
window.tokprep = state; // for the browser tests: what is shown, and for which text

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node[key] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

function busy(delta) {
  state.pending += delta;
  $("#status").textContent = state.pending > 0 ? "working…" : "";
  document.body.dataset.busy = String(state.pending);
}

async function api(path, body, signal) {
  busy(+1);
  try {
    const response = await fetch(path, {
      method: body === undefined ? "GET" : "POST",
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const value = await response.json();
    if (!response.ok) {
      const error = new Error(value.error || response.statusText);
      error.kind = value.type || "Error";
      throw error;
    }
    return value;
  } finally {
    busy(-1);
  }
}

const yieldToPage = () => new Promise((resolve) => setTimeout(resolve, 0));

function showError(node, error) {
  node.textContent = error ? `${error.kind || "Error"}: ${error.message}` : "";
}

// --- the tokenizer pickers ------------------------------------------------------------------
function fillSelect(select, preferred) {
  const current = select.value || preferred;
  select.replaceChildren();
  for (const t of state.tokenizers) {
    select.append(el("option", { value: t.label, text: `${t.label} (${t.n_vocab.toLocaleString()})` }));
  }
  if (select.classList.contains("pick")) select.append(el("option", { value: "", text: "(none)" }));
  const labels = state.tokenizers.map((t) => t.label);
  select.value = labels.includes(current) || current === "" ? current : labels[0];
}

async function loadTokenizers() {
  const answer = await api("/api/tokenizers");
  state.tokenizers = answer.tokenizers;
  const labels = state.tokenizers.map((t) => t.label);
  const defaults = ["gpt2", labels.includes("verdict-bpe") ? "verdict-bpe" : "words-v2", "cl100k_base"];
  document.querySelectorAll(".column").forEach((column, i) => {
    fillSelect(column.querySelector("select"), defaults[i] || FALLBACK[i]);
  });
  fillSelect($("#decode-tokenizer"), "gpt2");
  fillSelect($("#diff-candidate"), labels.find((l) => !BUILTIN.has(l)) || "cl100k_base");
  fillSelect($("#diff-reference"), "gpt2");
  fillSelect($("#windows-tokenizer"), "gpt2");
}
const BUILTIN = new Set(["gpt2", "cl100k_base", "o200k_base", "words-v1", "words-v2", "words-v3"]);

// --- Tokens ---------------------------------------------------------------------------------
async function refreshTokens(generation) {
  const text = $("#text").value;
  const special = $("#special").checked;
  const columns = document.querySelectorAll(".column");
  await Promise.all(
    Array.from(columns, async (column, i) => {
      const label = column.querySelector("select").value;
      const box = column.querySelector(".tokens");
      const slot = state.columns[i];
      if (!label) {
        box.replaceChildren();
        column.querySelector(".stats").textContent = "";
        column.querySelector(".ids").textContent = "";
        state.columns[i] = { label: "", text, view: null, shownGeneration: generation };
        return;
      }
      let view;
      try {
        view = await api("/api/encode", { tokenizer: label, text, special });
      } catch (error) {
        if (generation !== state.generation) return;
        showError(column.querySelector(".error"), error);
        box.replaceChildren();
        state.columns[i] = { label, text, view: null, error: error.message, shownGeneration: generation };
        return;
      }
      if (generation !== state.generation) return; // a newer text is on its way
      showError(column.querySelector(".error"), null);
      slot.label = label;
      if (!(await renderTokens(box, slot, text, view, generation))) return;
      column.querySelector(".stats").textContent =
        `${view.tokens.toLocaleString()} tokens · ${view.characters.toLocaleString()} characters · ` +
        `${view.bytes.toLocaleString()} bytes · ${view.characters_per_token ?? "–"} characters/token · ` +
        `${view.bytes_per_token ?? "–"} bytes/token`;
      Object.assign(slot, { label, text, view });
      showIds(column);
      slot.shownGeneration = generation;
    }),
  );
}

function showIds(column) {
  const slot = state.columns[Number(column.dataset.column)];
  const details = column.querySelector("details");
  // 25,000 IDs are a long string: made only while the list is open.
  column.querySelector(".ids").textContent = details.open && slot.view ? slot.view.ids.join(", ") : "";
}

function commonPrefix(a, b) {
  const n = Math.min(a.length, b.length);
  let i = 0;
  for (const step of [16384, 1024, 64]) {
    while (i + step <= n && a.slice(i, i + step) === b.slice(i, i + step)) i += step;
  }
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

// Spans are rendered into the page in slices, so one slice never holds the main thread long,
// and only from the first token that changed: typing at the end of a long text re-renders a
// few tokens, not all of them. Paragraphs are blocks with `content-visibility: auto`, so the
// browser lays out only what is on screen. Returns false when a newer text overtook this one.
async function renderTokens(box, slot, text, view, generation) {
  const old = slot.dom;
  const { ids, starts, ends } = view;
  let k = 0;
  if (old && old.label === slot.label && box.firstChild) {
    const same = commonPrefix(old.text, text);
    const n = Math.min(old.count, ids.length);
    while (k < n && old.ids[k] === ids[k] && old.starts[k] === starts[k] && old.ends[k] === ends[k] && ends[k] <= same) k++;
  }
  const spans = k > 0 ? old.spans.slice(0, k) : [];
  let block = null;
  if (k === 0) {
    box.replaceChildren();
  } else {
    const last = spans[k - 1];
    while (last.nextSibling) last.nextSibling.remove();
    block = last.parentNode;
    while (block.nextSibling) block.nextSibling.remove();
    if (last.textContent.endsWith("\n") || block.childNodes.length > 4000) block = null;
  }
  const dom = { label: slot.label, text, ids, starts, ends, spans, count: k };
  slot.dom = dom;
  const open = () => {
    if (block === null) {
      block = el("div", { class: "para" });
      box.append(block);
    }
    return block;
  };
  let position = k > 0 ? ends[k - 1] : 0;
  for (let i = k; i < ids.length; i++) {
    if ((i - k) % SLICE === SLICE - 1) {
      await yieldToPage();
      if (generation !== state.generation) return false;
    }
    if (starts[i] > position) open().append(document.createTextNode(text.slice(position, starts[i])));
    const piece = text.slice(starts[i], ends[i]);
    const span = document.createElement("span");
    span.className = piece ? `tok c${i % 6}` : "tok partial";
    span.textContent = piece;
    span.tokenIndex = i;
    open().append(span);
    spans.push(span);
    dom.count = i + 1;
    position = Math.max(position, ends[i]);
    if (piece.endsWith("\n") || block.childNodes.length > 4000) block = null;
  }
  if (position < text.length) open().append(document.createTextNode(text.slice(position)));
  return true;
}

// --- the inspector: a token's ID, bytes and merge chain -------------------------------------
function chainLines(node, depth, lines) {
  const indent = "  ".repeat(depth);
  if (!node.parts) {
    lines.push(`${indent}${JSON.stringify(node.shown)} (${node.id})${node.note ? ": " + node.note : ""}`);
    return;
  }
  const [left, right] = node.parts;
  lines.push(
    `${indent}${JSON.stringify(node.shown)} (rank ${node.id}) = ` +
      `${JSON.stringify(left.shown)} (${left.id}) + ${JSON.stringify(right.shown)} (${right.id})`,
  );
  for (const part of node.parts) if (part.parts) chainLines(part, depth + 1, lines);
}

async function inspect(label, id, anchor) {
  const box = $("#inspector");
  box.hidden = false;
  box.replaceChildren(el("div", { class: "title", text: `${label} · ID ${id}` }));
  const key = `${label}\u0000${id}`;
  let info = state.tokenCache.get(key);
  if (!info) {
    try {
      info = await api("/api/token", { tokenizer: label, id });
      state.tokenCache.set(key, info);
    } catch (error) {
      box.append(el("div", { class: "error", text: error.message }));
      return;
    }
  }
  if (box.dataset.anchor !== anchor) return; // the pointer moved on
  box.append(
    el("div", { text: `text: ${JSON.stringify(info.shown)}${info.special ? " (special token)" : ""}` }),
    el("div", { text: `bytes: ${info.hex} (${info.utf8})` }),
  );
  if (info.chain && info.chain.parts) {
    const lines = [];
    chainLines(info.chain, 0, lines);
    box.append(el("div", { class: "subtitle", text: "how BPE built it (merge chain, ranks):" }));
    box.append(el("pre", { text: lines.join("\n") }));
  } else if (info.chain) {
    box.append(el("div", { class: "subtitle", text: "a single byte: no merge" }));
  }
}

function onTokenHover(event) {
  const span = event.target.closest ? event.target.closest("span.tok") : null;
  if (!span || span.tokenIndex === undefined) return;
  const column = span.closest(".column");
  if (!column) return;
  const slot = state.columns[Number(column.dataset.column)];
  if (!slot.view) return;
  const id = slot.view.ids[span.tokenIndex];
  const anchor = `${slot.label}:${span.tokenIndex}:${id}`;
  $("#inspector").dataset.anchor = anchor;
  inspect(slot.label, id, anchor);
}

async function decodeIds() {
  const out = $("#decode-out");
  const raw = $("#decode-ids").value.trim();
  const parts = raw ? raw.split(/[\s,]+/).filter(Boolean) : [];
  // Numbers go as numbers; anything else is sent as it is, so the server names the error.
  const ids = parts.map((p) => (/^-?\d+$/.test(p) ? Number(p) : p));
  try {
    const answer = await api("/api/decode", { tokenizer: $("#decode-tokenizer").value, ids });
    out.className = "";
    out.textContent = answer.shown !== null ? `${answer.text}\n(as bytes: ${answer.shown})` : answer.text;
  } catch (error) {
    out.className = "error";
    showError(out, error);
  }
}

// --- Differences ----------------------------------------------------------------------------
async function refreshDiff(generation) {
  const text = $("#text").value;
  const body = {
    candidate: $("#diff-candidate").value,
    reference: $("#diff-reference").value,
    text,
    compare_ids: $("#diff-ids").checked,
  };
  let answer;
  try {
    answer = await api("/api/diff", body);
  } catch (error) {
    if (generation === state.generation) showError($("#diff-error"), error);
    return;
  }
  if (generation !== state.generation) return;
  showError($("#diff-error"), null);
  $("#diff-summary").textContent = answer.same
    ? `${answer.candidate} and ${answer.reference} agree on this text (${answer.candidate_tokens} tokens).`
    : `${answer.segments_total} divergent span(s); ${answer.candidate}: ${answer.candidate_tokens} tokens, ` +
      `${answer.reference}: ${answer.reference_tokens} tokens. The first is outlined.`;
  const root = document.createDocumentFragment();
  const rows = document.createDocumentFragment();
  let position = 0;
  answer.segments.forEach((segment, k) => {
    if (segment.start > position) root.append(document.createTextNode(text.slice(position, segment.start)));
    const pieces = (tokens) => tokens.map(([s, e, id]) => `${JSON.stringify(text.slice(s, e))} ${id}`).join(" · ");
    const mark = el("mark", {
      class: k === 0 ? "divergent first" : "divergent",
      text: text.slice(segment.start, segment.end),
      title: `candidate: ${pieces(segment.candidate)}\nreference: ${pieces(segment.reference)}`,
    });
    root.append(mark);
    position = segment.end;
    if (k < 100) {
      rows.append(
        el("tr", {}, [
          el("td", { text: `${segment.start}–${segment.end}` }),
          el("td", { text: pieces(segment.candidate) }),
          el("td", { text: pieces(segment.reference) }),
        ]),
      );
    }
  });
  if (position < text.length) root.append(document.createTextNode(text.slice(position)));
  $("#diff-text").replaceChildren(root);
  $("#diff-table tbody").replaceChildren(rows);
  $("#diff-report").textContent = answer.report || "(no divergent token IDs)";
}

// --- Windows --------------------------------------------------------------------------------
async function refreshWindows(generation) {
  const body = {
    tokenizer: $("#windows-tokenizer").value,
    text: $("#text").value,
    max_length: Number($("#windows-max-length").value),
    stride: Number($("#windows-stride").value),
  };
  let answer;
  try {
    answer = await api("/api/windows", body);
  } catch (error) {
    if (generation === state.generation) showError($("#windows-error"), error);
    return;
  }
  if (generation !== state.generation) return;
  showError($("#windows-error"), null);
  $("#windows-summary").textContent =
    answer.note ||
    `${answer.tokens.toLocaleString()} tokens → ${answer.count.toLocaleString()} input/target pairs` +
      (answer.count > answer.windows.length ? ` (the first ${answer.windows.length} shown)` : "");
  const chips = (ids) =>
    el(
      "div",
      { class: "chips" },
      ids.map((id, i) => el("span", { class: `tok c${i % 6}`, text: answer.pieces[id], title: `ID ${id}` })),
    );
  const rows = answer.windows.map((w) =>
    el("tr", {}, [
      el("td", { text: String(w.start) }),
      el("td", {}, [chips(w.input), el("div", { class: "ids", text: w.input.join(", ") })]),
      el("td", {}, [chips(w.target), el("div", { class: "ids", text: w.target.join(", ") })]),
    ]),
  );
  $("#windows-table tbody").replaceChildren(...rows);
}

// --- Training -------------------------------------------------------------------------------
let training = null;
// In the training view a space inside a token is shown as ␣, so " t" and "t" differ visibly.
const visible = (shown) => shown.replace(/ /g, "\u2423");

async function train() {
  const source = $("#train-source").value;
  const body = {
    vocab_size: Number($("#train-vocab").value),
    tie_break: $("#train-tie-break").value,
    label: $("#train-label").value.trim(),
  };
  if (source === "text") body.text = $("#text").value;
  else body.corpus = source;
  $("#train").disabled = true;
  $("#train-summary").textContent = "training…";
  try {
    training = await api("/api/train", body);
  } catch (error) {
    $("#train-summary").textContent = "";
    showError($("#train-error"), error);
    return;
  } finally {
    $("#train").disabled = false;
  }
  showError($("#train-error"), null);
  $("#train-summary").textContent =
    `${training.label}: ${training.steps.length} merges in ${training.seconds} s, vocabulary ` +
    `${training.vocab_size}${training.complete ? "" : " (the text ran out of pairs)"}; ` +
    `tie-break ${training.tie_break}. It is now in every tokenizer list.`;
  const step = $("#step");
  step.max = String(Math.max(0, training.steps.length - 1));
  step.value = "0";
  $("#train-steps").hidden = training.steps.length === 0;
  $("#merge-list").replaceChildren(
    ...training.steps.map((s) => el("span", { class: "merge", text: visible(s.merged), title: `#${s.index + 1}: ID ${s.id}` })),
  );
  showStep(0);
  await loadTokenizers();
  const second = document.querySelector('.column[data-column="1"] select');
  second.value = training.label;
  schedule();
}

function showStep(index) {
  if (!training || !training.steps.length) return;
  const s = training.steps[index];
  $("#step").value = String(index);
  $("#step-title").textContent =
    `merge ${index + 1} of ${training.steps.length}: ${visible(s.merged)} (ID ${s.id}), ` +
    `count ${s.count}` +
    (s.tied > 1 ? `, ${s.tied} pairs tied at that count: ${training.tie_break} picks the winner` : "");
  $("#step-table tbody").replaceChildren(
    ...s.pairs.map((p) =>
      el("tr", { class: p.wins ? "wins" : "" }, [
        el("td", {}, [
          el("span", { class: "tok c0", text: visible(p.left) }),
          " + ",
          el("span", { class: "tok c1", text: visible(p.right) }),
        ]),
        el("td", { text: `(${p.ids[0]}, ${p.ids[1]})` }),
        el("td", { text: String(p.count) }),
        el("td", { text: p.wins ? "← merged" : "" }),
      ]),
    ),
  );
  document.querySelectorAll("#merge-list .merge").forEach((node, i) => {
    node.classList.toggle("done", i <= index);
    node.classList.toggle("current", i === index);
  });
}

// --- wiring ---------------------------------------------------------------------------------
let timer = 0;
function schedule() {
  state.generation += 1;
  clearTimeout(timer);
  timer = setTimeout(refresh, DEBOUNCE_MS);
}

function refresh() {
  const generation = state.generation;
  const text = $("#text").value;
  $("#text-stats").textContent = `${text.length.toLocaleString()} characters`;
  if (state.view === "tokens") return refreshTokens(generation);
  if (state.view === "diff") return refreshDiff(generation);
  if (state.view === "windows") return refreshWindows(generation);
  return null;
}

function showView(name) {
  state.view = name;
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.view === name));
  document.querySelectorAll(".view").forEach((v) => (v.hidden = v.id !== `view-${name}`));
  schedule();
}

async function start() {
  document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => showView(b.dataset.view)));
  $("#text").addEventListener("input", schedule);
  $("#special").addEventListener("change", schedule);
  for (const id of ["#diff-candidate", "#diff-reference", "#diff-ids", "#windows-tokenizer", "#windows-max-length", "#windows-stride"]) {
    $(id).addEventListener("change", schedule);
  }
  document.querySelectorAll(".column select").forEach((s) => s.addEventListener("change", schedule));
  document.querySelectorAll(".column details").forEach((d) => d.addEventListener("toggle", () => showIds(d.closest(".column"))));
  $("#columns").addEventListener("mouseover", onTokenHover);
  $("#columns").addEventListener("mouseleave", () => ($("#inspector").hidden = true));
  $("#decode").addEventListener("click", decodeIds);
  $("#decode-ids").addEventListener("keydown", (e) => e.key === "Enter" && decodeIds());
  $("#train").addEventListener("click", train);
  $("#step").addEventListener("input", () => showStep(Number($("#step").value)));
  $("#step-prev").addEventListener("click", () => showStep(Math.max(0, Number($("#step").value) - 1)));
  $("#step-next").addEventListener("click", () =>
    showStep(Math.min(training ? training.steps.length - 1 : 0, Number($("#step").value) + 1)),
  );
  $("#load-verdict").addEventListener("click", async () => {
    const answer = await api("/api/corpus/the-verdict");
    $("#text").value = answer.text;
    schedule();
  });
  await loadTokenizers();
  if (!$("#text").value) $("#text").value = "Hello, world! Tokenizers cut text into tokens: <|endoftext|> 12345 “quotes” 👍";
  document.body.dataset.ready = "1";
  schedule();
}

start();
