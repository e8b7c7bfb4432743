// Chat page of the LINE WORKS emulator.
// Rule: data from users or the bot is only ever inserted with textContent / createElement.
"use strict";

const POLL_MS = 700;
const MAX_LOG_ROWS = 200;
const MAX_DIRECTORY_ROWS = 300; // synthetic load-test members can number 10,000

const state = {
  identity: localStorage.getItem("emulator.identity") || "",
  room: "dm", // "dm" (1:1 with the bot) or "admin" (the admin channel)
  info: null,
  epoch: null,
  directoryVersion: null,
  directory: [],
  messages: [],
  lastMessageId: 0,
  lastCallId: 0,
};

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function isHttpUrl(value) {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch (e) {
    return false;
  }
}

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Error((data && data.error) || response.statusText);
  return data;
}

// Timestamps arrive in UTC; show them in the browser's local time (JST for most users).
function localTime(iso) {
  return new Date(iso).toLocaleTimeString("ja-JP", { hour12: false });
}

function notice(text) {
  $("notice").textContent = text || "";
}

// --- who and where ------------------------------------------------------------

function adminChannelId() {
  return state.info ? state.info.adminChannelId : null;
}

function currentChannel() {
  return state.room === "admin" ? adminChannelId() : null;
}

function inCurrentRoom(entry) {
  if (state.room === "admin") {
    return entry.target.kind === "channel" && entry.target.id === adminChannelId();
  }
  return entry.target.kind === "user" && entry.target.id === state.identity;
}

function userName(userId) {
  const user = state.directory.find((u) => u.userId === userId);
  return user ? user.name : userId;
}

// --- user actions -----------------------------------------------------------------

async function sendText(text, postback) {
  if (!state.identity) return notice("「あなたは」でメンバーを選んでください");
  const body = { userId: state.identity, text };
  const channelId = currentChannel();
  if (channelId) body.channelId = channelId;
  if (postback) body.postback = postback;
  const result = await api("POST", "/_emulator/say", body);
  reportDelivery(result);
  await pollMessages();
}

async function sendPostback(data, displayText) {
  if (!state.identity) return notice("「あなたは」でメンバーを選んでください");
  const body = { userId: state.identity, data };
  const channelId = currentChannel();
  if (channelId) body.channelId = channelId;
  if (displayText) body.displayText = displayText;
  reportDelivery(await api("POST", "/_emulator/postback", body));
  await pollMessages();
}

// Camera / camera roll / location quick replies make the user send an image or location.
async function sendRawMessage(content) {
  const source = { userId: state.identity, domainId: state.info.domainId };
  const channelId = currentChannel();
  if (channelId) source.channelId = channelId;
  const event = { type: "message", source, issuedTime: new Date().toISOString(), content };
  reportDelivery(await api("POST", "/_emulator/event", event));
}

function reportDelivery(result) {
  if (result.status === null) notice("Bot に届きませんでした (callback URL に接続できません)");
  else if (result.status >= 400) notice(`Bot が HTTP ${result.status} を返しました`);
  else notice("");
}

async function runAction(action) {
  try {
    switch (action.type) {
      case "message":
        // Where `text` is absent (button/list template, menu), the label is sent instead.
        return await sendText(action.text || action.label, action.postback);
      case "postback":
        return await sendPostback(action.data, action.displayText);
      case "uri":
        if (isHttpUrl(action.uri)) window.open(action.uri, "_blank", "noopener");
        return;
      case "copy":
        if (navigator.clipboard) await navigator.clipboard.writeText(action.copyText || "");
        return notice("コピーしました");
      case "location":
        return await sendRawMessage({ type: "location", address: "東京都千代田区丸の内1丁目",
          latitude: 35.681236, longitude: 139.767125 });
      case "camera":
      case "cameraRoll":
        return await sendRawMessage({ type: "image", fileId: "emulator-file-0001" });
      default:
        return notice(`未対応のアクション: ${action.type}`);
    }
  } catch (e) {
    notice(`送信エラー: ${e.message}`);
  }
}

function actionButton(action, className) {
  const button = el("button", className || "btn-action", action.label || action.text || action.type);
  button.type = "button";
  button.addEventListener("click", () => runAction(action));
  return button;
}

// --- rendering bot content ------------------------------------------------------------

function renderContent(content) {
  const bubble = el("div", "bubble");
  switch (content.type) {
    case "text":
      bubble.textContent = content.text;
      break;
    case "button_template":
      bubble.append(el("div", "content-text", content.contentText));
      (content.actions || []).forEach((a) => bubble.append(actionButton(a)));
      break;
    case "list_template":
      renderList(bubble, content);
      break;
    case "carousel":
      return renderCarousel(content);
    case "image_carousel":
      return renderImageCarousel(content);
    case "link": {
      bubble.append(el("div", "content-text", content.contentText));
      const link = el("a", "link", content.linkText);
      if (isHttpUrl(content.link)) {
        link.href = content.link;
        link.target = "_blank";
        link.rel = "noopener";
      }
      bubble.append(link);
      break;
    }
    case "image":
      // Nothing is fetched from the internet: show a placeholder instead of the image.
      bubble.append(el("div", "media", `[画像] ${content.originalContentUrl || content.fileId}`));
      break;
    case "file":
      bubble.append(el("div", "media", `[ファイル] ${content.originalContentUrl || content.fileId}`));
      break;
    case "sticker":
      bubble.append(el("div", "media", `[スタンプ ${content.packageId}/${content.stickerId}]`));
      break;
    case "location":
      bubble.append(el("div", "media", `[位置情報] ${content.title || ""} ${content.address || ""}`));
      break;
    case "flex":
      bubble.append(el("div", "media", "[Flex メッセージ]"));
      bubble.append(el("div", "content-text", content.altText));
      break;
    default:
      bubble.append(el("div", "media", `[${content.type}]`));
  }
  return bubble;
}

function renderList(bubble, content) {
  if (content.coverData) {
    bubble.append(el("div", "cover", content.coverData.title || ""));
    if (content.coverData.subtitle) bubble.append(el("div", "sub", content.coverData.subtitle));
  }
  (content.elements || []).forEach((element) => {
    const row = el("div", "list-element");
    row.append(el("div", "title", element.title));
    if (element.subtitle) row.append(el("div", "sub", element.subtitle));
    if (element.action) row.append(actionButton(element.action));
    bubble.append(row);
  });
  (content.actions || []).forEach((actions) => {
    const row = el("div", "list-row");
    actions.forEach((a) => row.append(actionButton(a)));
    bubble.append(row);
  });
}

function renderCarousel(content) {
  const carousel = el("div", "carousel");
  (content.columns || []).forEach((column) => {
    const box = el("div", "carousel-column");
    if (column.originalContentUrl || column.fileId) box.append(el("div", "media", "[画像]"));
    if (column.title) box.append(el("div", "title", column.title));
    box.append(el("div", "text", column.text));
    (column.actions || []).forEach((a) => box.append(actionButton(a)));
    carousel.append(box);
  });
  return carousel;
}

function renderImageCarousel(content) {
  const carousel = el("div", "carousel");
  (content.columns || []).forEach((column) => {
    const box = el("div", "carousel-column");
    box.append(el("div", "media", "[画像]"));
    if (column.action) box.append(actionButton(column.action));
    carousel.append(box);
  });
  return carousel;
}

function renderEntry(entry) {
  const row = el("div", `msg ${entry.from === "bot" ? "bot" : "user"}`);
  row.dataset.id = entry.id;
  const column = el("div", "msg-body");
  const sender = entry.from === "bot" ? "Bot" : userName(entry.userId);
  column.append(el("div", "sender", sender));
  column.append(entry.from === "bot" ? renderContent(entry.content) : renderUserContent(entry.content));
  const time = el("span", "time", localTime(entry.time));
  if (entry.from === "bot") row.append(column, time);
  else row.append(time, column);
  return row;
}

function renderUserContent(content) {
  if (content.type === "text") return el("div", "bubble", content.text);
  return renderContent(content);
}

function renderMessages() {
  const box = $("messages");
  const entries = state.messages.filter(inCurrentRoom);
  box.replaceChildren(...entries.map(renderEntry));

  // Quick replies belong to the latest message of the room, and only while it is the bot's.
  // They are drawn before scrolling: they take height from the message list.
  const chips = $("quick-replies");
  chips.replaceChildren();
  const last = entries[entries.length - 1];
  if (last && last.from === "bot" && last.content.quickReply) {
    last.content.quickReply.items.forEach((item) => {
      chips.append(actionButton(item.action, "quick-reply"));
    });
  }
  chips.scrollLeft = 0; // on phones the chips are one row that scrolls sideways: start at its start
  scrollToLatest();
}

// --- keeping the newest message in view -------------------------------------------------
// The list follows the newest message until the person scrolls up, and keeps following it when
// the list gets shorter (chips, menu or a notice drawn below it, a phone keyboard, a resize).

let followLatest = true;

// The scrollTop that shows the newest message whole: the end of the list where it fits, else as far
// down as its top allows (and its start, when it is taller than the list).
function latestScrollTop(box) {
  const end = box.scrollHeight - box.clientHeight;
  const last = box.lastElementChild;
  if (!last) return end;
  const top = last.offsetTop; // offsetParent is the list (position: relative)
  const lowest = top + last.offsetHeight - box.clientHeight; // less than this cuts its bottom off
  if (lowest > top) return Math.min(end, top);
  return Math.min(end, Math.max(lowest, top - 8));
}

function scrollToLatest() {
  const box = $("messages");
  box.scrollTop = latestScrollTop(box);
  followLatest = true;
}

$("messages").addEventListener("scroll", () => {
  const box = $("messages");
  followLatest = box.scrollTop + 2 >= latestScrollTop(box);
});

if (window.ResizeObserver) {
  new ResizeObserver(() => { if (followLatest) scrollToLatest(); }).observe($("messages"));
}

function renderRoomTitle() {
  $("dm-tab").classList.toggle("active", state.room === "dm");
  $("admin-tab").classList.toggle("active", state.room === "admin");
  const title = state.room === "admin" ? `管理者トーク (${adminChannelId()})`
    : `Bot と ${userName(state.identity)} さんの 1:1 トーク`;
  $("room-title").textContent = title;
}

function renderPersistentMenu() {
  const menu = $("persistent-menu");
  const actions = state.info && state.info.persistentMenu ? state.info.persistentMenu.actions : [];
  menu.replaceChildren(...actions.map((a) => actionButton(a, "menu-action")));
}

// --- side panel -----------------------------------------------------------------------

function badge(text, className) {
  return el("span", `badge ${className}`, text);
}

function renderDirectory() {
  const list = $("directory");
  const rows = state.directory.slice(0, MAX_DIRECTORY_ROWS).map((user) => {
    const li = el("li");
    li.dataset.userId = user.userId;
    li.append(el("span", "name", user.name), el("span", "email", user.email));
    li.append(el("div", "sub", `${user.orgUnitName} / ${user.positionName}`));
    if (user.isSuperAdministrator) li.append(badge("最高管理者", "admin"));
    else if (user.isAdministrator) li.append(badge("管理者", "admin"));
    if (user.isManager) li.append(badge("責任者", "manager"));
    if (user.isSuspended) li.append(badge("利用停止", "suspended"));
    if (user.forceLoggedOutAt) li.append(badge("強制ログアウト済み", "logout"));
    if (user.isDeleted) li.append(badge("削除済み", "deleted"));
    if (user.isPending) li.append(badge("招待中", "pending"));
    return li;
  });
  if (state.directory.length > MAX_DIRECTORY_ROWS) {
    rows.push(el("li", "sub", `ほか ${state.directory.length - MAX_DIRECTORY_ROWS} 名`));
  }
  list.replaceChildren(...rows);
}

function renderIdentity() {
  const select = $("identity");
  const users = state.directory.filter((u) => !u.isDeleted).slice(0, MAX_DIRECTORY_ROWS);
  select.replaceChildren(...users.map((user) => {
    const label = `${user.name}${user.isAdministrator ? " (管理者)" : ""} - ${user.orgUnitName}`;
    const option = el("option", null, label);
    option.value = user.userId;
    return option;
  }));
  if (!users.some((u) => u.userId === state.identity)) {
    const firstMember = users.find((u) => !u.isAdministrator) || users[0];
    state.identity = firstMember ? firstMember.userId : "";
  }
  select.value = state.identity;
}

function appendCalls(calls) {
  const log = $("api-log");
  calls.forEach((call) => {
    const li = el("li");
    const ok = call.status < 400;
    li.append(el("span", "time", `${localTime(call.time)} `));
    li.append(el("span", "method", `${call.method} `));
    li.append(el("span", "path", `${call.path} `));
    li.append(el("span", ok ? "status-ok" : "status-err", call.status));
    li.append(el("span", "duration", ` ${call.durationMs}ms`));
    log.prepend(li);
  });
  while (log.children.length > MAX_LOG_ROWS) log.lastChild.remove();
}

// --- polling ---------------------------------------------------------------------------

async function pollMessages() {
  const fresh = await api("GET", `/_emulator/messages?since=${state.lastMessageId}`);
  if (fresh.length) {
    state.messages.push(...fresh);
    state.lastMessageId = fresh[fresh.length - 1].id;
    renderMessages();
  }
}

async function poll() {
  const info = await api("GET", "/_emulator/info");
  const menuChanged = JSON.stringify(info.persistentMenu) !==
    JSON.stringify(state.info && state.info.persistentMenu);
  state.info = info;
  if (info.epoch !== state.epoch) { // the emulator was reset: start over
    state.epoch = info.epoch;
    state.messages = [];
    state.lastMessageId = 0;
    state.lastCallId = 0;
    state.directoryVersion = null; // the directory went back to the seed as well
    $("api-log").replaceChildren();
    renderMessages();
  }
  if (info.directoryVersion !== state.directoryVersion || !state.directory.length) {
    state.directoryVersion = info.directoryVersion;
    state.directory = await api("GET", "/_emulator/directory");
    renderDirectory();
    renderIdentity();
    renderRoomTitle();
  }
  if (menuChanged) renderPersistentMenu();
  await pollMessages();
  const calls = await api("GET", `/_emulator/calls?since=${state.lastCallId}`);
  if (calls.length) {
    state.lastCallId = calls[calls.length - 1].id;
    appendCalls(calls);
  }
}

async function pollForever() {
  try {
    await poll();
  } catch (e) {
    notice(`エミュレーターに接続できません: ${e.message}`);
  }
  setTimeout(pollForever, POLL_MS);
}

// --- wiring ----------------------------------------------------------------------------

function switchRoom(room) {
  state.room = room;
  renderRoomTitle();
  renderMessages();
}

$("dm-tab").addEventListener("click", () => switchRoom("dm"));
$("admin-tab").addEventListener("click", () => switchRoom("admin"));
$("identity").addEventListener("change", (event) => {
  state.identity = event.target.value;
  localStorage.setItem("emulator.identity", state.identity);
  renderRoomTitle();
  renderMessages();
});
$("composer").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = $("input");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  try {
    await sendText(text);
  } catch (e) {
    notice(`送信エラー: ${e.message}`);
  }
});
$("reset").addEventListener("click", async () => {
  if (!confirm("エミュレーターを初期状態に戻しますか？ (Bot が登録した固定メニューは残ります)")) return;
  try {
    // The persistent menu is what the bot registered once at start: keep it, or it is gone
    // until the bot restarts.
    await api("POST", "/_emulator/reset", { keepPersistentMenu: true });
  } catch (e) {
    notice(`リセットできませんでした: ${e.message}`);
  }
});

// Narrow screens: the member/log panel is a drawer over the talk.
function setSideOpen(open) {
  $("layout").classList.toggle("side-open", open);
  $("side-toggle").setAttribute("aria-expanded", String(open));
}
$("side-toggle").addEventListener("click", () => {
  setSideOpen($("side-toggle").getAttribute("aria-expanded") !== "true");
});
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") setSideOpen(false);
});

pollForever();
