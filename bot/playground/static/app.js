// digitbot playground: a small chat client for the local Bot API server's /api endpoints.
// It renders what the bot sends (texts with entities, photos, inline keyboards), applies edits
// and deletions in place, and sends the user's texts, commands, photos and button presses.
// Its own words come in the page's language (#texts, filled in by the server from the catalogs).
"use strict";

const $ = (id) => document.getElementById(id);
const T = JSON.parse($("texts").textContent);
const LANG = document.documentElement.lang || undefined;
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
const chat = $("chat");
const list = $("messages");
const statusLine = $("status");
const textBox = $("text");

const POST_HEADERS = { "X-Playground": "1" };
const messages = new Map();          // message_id -> element
const pendingQueries = new Map();    // callback_query_id -> button element
let after = 0;                       // last event seq seen
let instance = null;                 // server instance; a restart starts a new chat
let botOnline = false;
let typingUntil = 0;
let lastDay = "";

// ------------------------------------------------------------------ events from the server

async function poll() {
  let failures = 0;
  let first = true;
  for (;;) {
    const wait = first ? 0 : botOnline ? 25 : 1;
    try {
      const response = await fetch(`/api/updates?after=${after}&timeout=${wait}`, { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const body = await response.json();
      if (instance !== null && body.instance !== instance) {
        // The playground was restarted: a new chat, read from its beginning.
        instance = body.instance;
        resetChat();
        first = true;
        continue;
      }
      instance = body.instance;
      // The first answer replays the history: no toasts or "typing…" for things long past.
      for (const event of body.events) {
        applyEvent(event, !first);
        after = event.seq;
      }
      if (first) scrollToEnd();
      botOnline = body.bot.online && !body.closing;
      showCommands(body.bot.commands);
      updateStatus();
      failures = 0;
      first = false;
      if (body.closing) await sleep(1000);
    } catch (error) {
      failures += 1;
      botOnline = false;
      updateStatus(T.disconnected);
      await sleep(Math.min(5000, 500 * failures));
    }
  }
}

function applyEvent(event, live) {
  const data = event.data;
  switch (event.kind) {
    case "message":
      addMessage(data);
      if (!isOwn(data)) typingUntil = 0;
      break;
    case "edited_message": {
      const old = messages.get(data.message_id);
      if (old) {
        const wasAtEnd = isScrolledNearEnd(120);
        const fresh = renderMessage(data);
        old.replaceWith(fresh);
        if (wasAtEnd) scrollToEnd();  // a keyboard that grew stays in view
        messages.set(data.message_id, fresh);
        fresh.querySelector(".bubble").classList.add("flash");
      }
      break;
    }
    case "deleted_message":
      messages.get(data.message_id)?.remove();
      messages.delete(data.message_id);
      break;
    case "chat_action":
      if (!live) break;
      typingUntil = Date.now() + 5000;
      setTimeout(updateStatus, 5100);
      break;
    case "callback_answer": {
      const button = pendingQueries.get(data.callback_query_id);
      if (button) button.removeAttribute("aria-busy");
      pendingQueries.delete(data.callback_query_id);
      if (live && data.text) data.show_alert ? showAlert(data.text) : showToast(data.text);
      break;
    }
  }
  updateStatus();
}

function resetChat() {
  for (const element of messages.values()) element.remove();
  list.querySelectorAll(".day").forEach((element) => element.remove());
  messages.clear();
  pendingQueries.clear();
  after = 0;
  lastDay = "";
  $("intro").hidden = false;
}

// ------------------------------------------------------------------ rendering

function isOwn(message) {
  return message.from && !message.from.is_bot;
}

function addMessage(message) {
  $("intro").hidden = true;
  const nearBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 120;
  const date = new Date(message.date * 1000);
  const day = date.toLocaleDateString(LANG, { weekday: "long", month: "long", day: "numeric" });
  if (day !== lastDay) {
    lastDay = day;
    const divider = document.createElement("div");
    divider.className = "day";
    divider.textContent = day;
    list.append(divider);
  }
  const element = renderMessage(message);
  messages.set(message.message_id, element);
  list.append(element);
  if (nearBottom || isOwn(message)) scrollToEnd();
}

function renderMessage(message) {
  const own = isOwn(message);
  const element = document.createElement("article");
  element.className = `msg ${own ? "out" : "in"}`;
  element.dataset.messageId = message.message_id;
  element.setAttribute("aria-label", own ? T.you : message.from?.first_name || T.bot);

  const bubble = document.createElement("div");
  bubble.className = "bubble";
  const imageUrl = message.photo_url || message.document_url;
  if (imageUrl) {
    bubble.classList.add("media");
    const link = document.createElement("a");
    link.className = "photo-link";
    link.href = imageUrl;
    link.target = "_blank";
    link.rel = "noopener";
    const image = document.createElement("img");
    image.className = "photo";
    image.src = imageUrl;
    image.alt = message.caption || (own ? T.your_photo : T.bot_photo);
    const size = message.photo?.at(-1);
    if (size?.width && size?.height) {
      image.width = size.width;
      image.height = size.height;
      image.style.aspectRatio = `${size.width} / ${size.height}`;
      image.style.height = "auto";
    }
    image.addEventListener("load", () => { if (isScrolledNearEnd(400)) scrollToEnd(); });
    link.append(image);
    bubble.append(link);
  } else if (message.document) {
    const documentLine = document.createElement("div");
    documentLine.className = "document";
    documentLine.textContent = message.document.file_name || T.file;
    bubble.append(documentLine);
  }
  const text = message.text ?? message.caption;
  const entities = message.entities ?? message.caption_entities ?? [];
  if (text) {
    const body = document.createElement("div");
    body.className = "text";
    body.append(renderEntities(text, entities));
    bubble.append(body);
  } else if (imageUrl) {
    bubble.classList.add("bare");
  }
  if (!text && !imageUrl && !message.document) {
    const body = document.createElement("div");
    body.className = "text";
    body.textContent = T.unsupported;
    bubble.append(body);
  }
  const meta = document.createElement("span");
  meta.className = "meta";
  if (message.edit_date) {
    const edited = document.createElement("span");
    edited.className = "edited";
    edited.textContent = T.edited;
    meta.append(edited);
  }
  meta.append(clock(message.edit_date || message.date));
  bubble.append(meta);
  element.append(bubble);

  const keyboard = message.reply_markup?.inline_keyboard;
  if (keyboard?.length) {
    element.classList.add("has-keyboard");
    element.append(renderKeyboard(message.message_id, keyboard));
  }
  return element;
}

function clock(unixSeconds) {
  return new Date(unixSeconds * 1000).toLocaleTimeString(LANG, { hour: "2-digit", minute: "2-digit" });
}

function renderKeyboard(messageId, rows) {
  const keyboard = document.createElement("div");
  keyboard.className = "keyboard";
  keyboard.setAttribute("role", "group");
  keyboard.setAttribute("aria-label", T.buttons);
  for (const row of rows) {
    const line = document.createElement("div");
    line.className = "row";
    for (const button of row) {
      let key;
      if (button.url) {
        key = document.createElement("a");
        key.href = button.url;
        key.target = "_blank";
        key.rel = "noopener";
      } else {
        key = document.createElement("button");
        key.type = "button";
        if (button.callback_data !== undefined) {
          key.addEventListener("click", () => pressButton(messageId, button.callback_data, key));
        } else {
          key.disabled = true;
          key.title = T.not_available;
        }
      }
      key.className = "key";
      key.textContent = button.text;
      line.append(key);
    }
    keyboard.append(line);
  }
  return keyboard;
}

// Entities: offsets and lengths count UTF-16 code units, as JavaScript strings do.
function renderEntities(text, entities) {
  const sorted = [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length);
  const fragment = document.createDocumentFragment();
  appendRange(fragment, text, sorted, 0, text.length);
  return fragment;
}

function appendRange(parent, text, entities, start, end) {
  let position = start;
  for (let index = 0; index < entities.length; index++) {
    const entity = entities[index];
    const entityEnd = entity.offset + entity.length;
    if (entity.offset < position || entityEnd > end) continue;
    if (entity.offset > position) parent.append(text.slice(position, entity.offset));
    const inner = entities.filter((other, otherIndex) => otherIndex > index &&
      other.offset >= entity.offset && other.offset + other.length <= entityEnd);
    const element = entityElement(entity, text.slice(entity.offset, entityEnd));
    const target = element.querySelector("code") || element;
    appendRange(target, text, inner, entity.offset, entityEnd);
    parent.append(element);
    position = entityEnd;
  }
  if (position < end) parent.append(text.slice(position, end));
}

function entityElement(entity, value) {
  const tags = { bold: "strong", italic: "em", underline: "u", strikethrough: "s", code: "code",
    blockquote: "blockquote", expandable_blockquote: "blockquote" };
  let element;
  switch (entity.type) {
    case "pre":
      element = document.createElement("pre");
      element.append(document.createElement("code"));
      break;
    case "text_link":
    case "url":
    case "email": {
      const href = entity.type === "email" ? `mailto:${value}` : entity.url || value;
      element = document.createElement(/^(https?:|mailto:)/i.test(href) ? "a" : "span");
      if (element.tagName === "A") {
        element.href = href;
        element.target = "_blank";
        element.rel = "noopener";
      }
      break;
    }
    case "bot_command":
      element = document.createElement("a");
      element.className = "command";
      element.href = "#";
      element.title = fill(T.send_command, { command: value });
      element.addEventListener("click", (event) => { event.preventDefault(); sendText(value); });
      break;
    case "spoiler":
      element = document.createElement("span");
      element.className = "spoiler";
      element.addEventListener("click", () => element.classList.add("revealed"));
      break;
    default:
      element = document.createElement(tags[entity.type] || "span");
  }
  return element;
}

function showCommands(commands) {
  const bar = $("commands");
  const wanted = (commands || []).map((command) => `/${command.command}`);
  if (bar.dataset.commands === wanted.join(" ")) return;
  bar.dataset.commands = wanted.join(" ");
  bar.replaceChildren(...(commands || []).map((command) => {
    const chip = document.createElement("button");
    chip.type = "button";
    chip.className = "chip";
    chip.textContent = `/${command.command}`;
    chip.title = command.description;
    chip.addEventListener("click", () => sendText(`/${command.command}`));
    return chip;
  }));
}

function updateStatus(problem) {
  statusLine.className = "status";
  if (problem) {
    statusLine.textContent = problem;
    statusLine.classList.add("offline");
  } else if (Date.now() < typingUntil) {
    statusLine.textContent = T.typing;
    statusLine.classList.add("typing");
  } else if (botOnline) {
    statusLine.textContent = T.online;
    statusLine.classList.add("online");
  } else {
    statusLine.textContent = T.starting;
  }
}

let toastTimer = 0;
function showToast(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; }, 3500);
}

function showAlert(text) {
  $("alert-text").textContent = text;
  const dialog = $("alert");
  if (dialog.showModal) dialog.showModal(); else showToast(text);
}

function isScrolledNearEnd(margin) {
  return chat.scrollHeight - chat.scrollTop - chat.clientHeight < margin;
}

function scrollToEnd() {
  requestAnimationFrame(() => { chat.scrollTop = chat.scrollHeight; });
}

// ------------------------------------------------------------------ sending

async function post(path, options) {
  const response = await fetch(path, { method: "POST", ...options, headers: { ...POST_HEADERS, ...options.headers } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.description || `HTTP ${response.status}`);
  return body;
}

async function sendText(text) {
  text = text.trim();
  if (!text) return;
  try {
    await post("/api/messages", { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text }) });
  } catch (error) {
    showToast(fill(T.not_sent, { error: error.message }));
  }
}

async function sendFile(file) {
  if (!file) return;
  const form = new FormData();
  form.append("file", file, file.name || "photo.jpg");
  try {
    await post("/api/messages", { body: form });
  } catch (error) {
    showToast(fill(T.not_sent, { error: error.message }));
  }
}

async function pressButton(messageId, callbackData, key) {
  key.setAttribute("aria-busy", "true");
  try {
    const body = await post("/api/callback", {
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ message_id: messageId, callback_data: callbackData }),
    });
    pendingQueries.set(body.callback_query_id, key);
    // Telegram's apps stop waiting after a while even if the bot never answers.
    setTimeout(() => key.removeAttribute("aria-busy"), 15000);
  } catch (error) {
    key.removeAttribute("aria-busy");
    showToast(fill(T.not_sent, { error: error.message }));
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ------------------------------------------------------------------ wiring

function autosize() {
  textBox.style.height = "auto";
  textBox.style.height = `${Math.min(textBox.scrollHeight + 2, 160)}px`;
}

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = textBox.value;
  textBox.value = "";
  autosize();
  sendText(text);
  textBox.focus();
});
textBox.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("form").requestSubmit();
  }
});
textBox.addEventListener("input", autosize);
textBox.addEventListener("paste", (event) => {
  const file = [...(event.clipboardData?.files || [])].find((item) => item.type.startsWith("image/"));
  if (file) {
    event.preventDefault();
    sendFile(file);
  }
});
for (const input of [$("file"), $("camera")]) {
  input.addEventListener("change", () => {
    sendFile(input.files[0]);
    input.value = "";
  });
}
$("start").addEventListener("click", () => sendText("/start"));
// The language of "your Telegram app": the page reloads in it, and the bot follows it (unless /language says otherwise).
$("language").addEventListener("change", async (event) => {
  try {
    await post("/api/language", { headers: { "Content-Type": "application/json" }, body: JSON.stringify({ language: event.target.value }) });
    location.reload();
  } catch (error) {
    showToast(fill(T.not_sent, { error: error.message }));
  }
});

// Drag and drop anywhere on the page.
let dragDepth = 0;
const hasFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
window.addEventListener("dragenter", (event) => {
  if (!hasFiles(event)) return;
  dragDepth += 1;
  $("drop").hidden = false;
});
window.addEventListener("dragleave", () => {
  dragDepth = Math.max(0, dragDepth - 1);
  if (dragDepth === 0) $("drop").hidden = true;
});
window.addEventListener("dragover", (event) => {
  if (hasFiles(event)) event.preventDefault();
});
window.addEventListener("drop", (event) => {
  event.preventDefault();
  dragDepth = 0;
  $("drop").hidden = true;
  for (const file of event.dataTransfer?.files || []) sendFile(file);
});

updateStatus();
poll();
