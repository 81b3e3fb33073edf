/* LINE-like chat page for the kyodo LINE emulator. Plain JS, no libraries, works offline.
   Everything the bot sent is rendered with textContent / DOM nodes (never innerHTML), so bot text cannot inject markup. */
(function () {
  "use strict";

  var DEMO_USERS = [
    { id: "U76cb7ddc6caecf6c8dd616737bc3c04d", name: "さくら（30代・子育て中）", short: "さくら" },
    { id: "Uab1cd80214cc00d5aa1fca1d377e0282", name: "健一（70代）", short: "健一" },
    { id: "U8a2bf4b48d9cb82607d5c107c21c1432", name: "美咲（高校生）", short: "美咲" }
  ];
  var STORE_KEY = "kyodo.emulator.users";
  var LAST_KEY = "kyodo.emulator.lastUser";
  var POLL_MS = 700;

  var FONT = { xxs: 11, xs: 13, sm: 14, md: 16, lg: 19, xl: 22, xxl: 29, "3xl": 35, "4xl": 48, "5xl": 74 };
  var SPACE = { none: 0, xs: 2, sm: 4, md: 8, lg: 12, xl: 16, xxl: 20 };
  var IMG = { xxs: 40, xs: 60, sm: 80, md: 100, lg: 120, xl: 140, xxl: 160, "3xl": 180, "4xl": 200, "5xl": 220 };
  var BORDER = { none: 0, light: 0.5, normal: 1, medium: 2, "semi-bold": 3, bold: 4 };
  var ALIGN = { start: "flex-start", end: "flex-end", center: "center" };

  var state = { user: null, since: 0, blocked: false, menuId: null, menuOpen: false, pollTimer: null,
                polling: false, ticks: 0, picker: null, districts: null };

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function isHttp(url) { return typeof url === "string" && /^https?:\/\//i.test(url); }
  function timeLabel(ms) {
    var d = new Date(ms);
    return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2);
  }

  function api(path, body) {
    var opts = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" },
                                           body: JSON.stringify(body) };
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) { data._http = r.status; return data; });
    });
  }

  /* ---------- users ---------- */
  function customUsers() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY) || "[]"); } catch (e) { return []; }
  }
  function allUsers() { return DEMO_USERS.concat(customUsers()); }
  function findUser(id) {
    var list = allUsers();
    for (var i = 0; i < list.length; i++) if (list[i].id === id) return list[i];
    return { id: id, name: id, short: "ゲスト" };
  }
  function renderUserSelect() {
    var sel = $("userSelect");
    sel.textContent = "";
    allUsers().forEach(function (u) {
      var opt = el("option", null, u.name);
      opt.value = u.id;
      sel.appendChild(opt);
    });
    var add = el("option", null, "＋ 新しいユーザー");
    add.value = "__new__";
    sel.appendChild(add);
    if (state.user) sel.value = state.user;
  }
  function newUser() {
    var n = customUsers().length + 1;
    var name = window.prompt("新しいユーザーの名前を入力してください", "ゲスト" + n);
    if (!name) { renderUserSelect(); return; }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    var hex = Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
    var user = { id: "U" + hex, name: name, short: name };
    var list = customUsers();
    list.push(user);
    localStorage.setItem(STORE_KEY, JSON.stringify(list));
    renderUserSelect();
    selectUser(user.id);
  }

  function selectUser(id) {
    state.user = id;
    state.since = 0;
    state.menuId = null;
    localStorage.setItem(LAST_KEY, id);
    $("userSelect").value = id;
    $("log").textContent = "";
    clearQuick();
    var u = findUser(id);
    $("panelUser").textContent = u.name;
    $("panelUserId").textContent = id;
    return api("/_emulator/timeline?user=" + encodeURIComponent(id) + "&since=0").then(function (t) {
      if (id !== state.user) return;
      applyTimeline(t);
      // The first time a user opens the chat they add the bot as a friend, as on LINE.
      if (!t.known) return sendEvent({ type: "follow" });
    }).then(loadRichMenu);
  }

  /* ---------- timeline ---------- */
  function applyTimeline(t) {
    (t.items || []).forEach(renderItem);
    if (typeof t.last === "number") state.since = Math.max(state.since, t.last);
    setBlocked(!!t.blocked);
  }

  function poll() {
    if (!state.user || state.polling) return Promise.resolve();
    state.polling = true;
    var user = state.user;
    return api("/_emulator/timeline?user=" + encodeURIComponent(user) + "&since=" + state.since)
      .then(function (t) { if (user === state.user) applyTimeline(t); })
      .catch(function () { /* emulator restarting; try again next tick */ })
      .then(function () {
        state.polling = false;
        state.ticks += 1;
        if (state.ticks % 4 === 0) loadRichMenu();
      });
  }
  function schedulePoll() {
    state.pollTimer = setTimeout(function () { poll().then(schedulePoll); }, POLL_MS);
  }

  function scrollDown() { var log = $("log"); log.scrollTop = log.scrollHeight; }

  function sysLine(text, isError) {
    $("log").appendChild(el("div", "sys" + (isError ? " err" : ""), text));
    scrollDown();
  }

  function renderItem(item) {
    if (item.from === "user") renderUserItem(item);
    else renderBotRecord(item.record);
    scrollDown();
  }

  function userRow(content, ms) {
    var row = el("div", "row-msg me");
    var stack = el("div", "stack");
    stack.appendChild(content);
    row.appendChild(stack);
    row.appendChild(el("span", "meta", timeLabel(ms)));
    $("log").appendChild(row);
  }

  function renderUserItem(item) {
    var ev = item.event;
    if (ev.type === "follow") {
      sysLine(ev.follow && ev.follow.isUnblocked ? "ブロックを解除しました" : "友だち追加しました");
    } else if (ev.type === "unfollow") {
      sysLine("ブロックしました");
    } else if (ev.type === "message" && ev.message.type === "text") {
      userRow(textBubble(ev.message.text), ev.timestamp);
    } else if (ev.type === "message" && ev.message.type === "location") {
      var m = ev.message;
      userRow(el("div", "bubble", "📍 " + (m.title || "位置情報") + "\n" + m.latitude.toFixed(5) + ", " +
                                  m.longitude.toFixed(5)), ev.timestamp);
    } else if (ev.type === "message" && ev.message.type === "sticker") {
      userRow(el("div", "bubble placeholder", "（スタンプ）"), ev.timestamp);
    } else if (ev.type === "postback" && item.display) {
      userRow(textBubble(item.display), ev.timestamp);
    }
  }

  function renderBotRecord(record) {
    var row = el("div", "row-msg");
    row.appendChild(el("div", "avatar", "協"));
    var stack = el("div", "stack");
    var messages = record.messages || [];
    messages.forEach(function (m) { stack.appendChild(renderMessage(m)); });
    row.appendChild(stack);
    row.appendChild(el("span", "meta", timeLabel(record.at * 1000)));
    $("log").appendChild(row);
    var last = messages[messages.length - 1];
    if (last && last.quickReply && last.quickReply.items) showQuick(last.quickReply.items);
    else clearQuick();
  }

  /* ---------- messages ---------- */
  function textBubble(text) {
    var b = el("div", "bubble");
    var parts = String(text).split(/(https?:\/\/[^\s]+)/g);
    parts.forEach(function (part, i) {
      if (i % 2 === 1) {
        var a = el("a", null, part);
        a.href = part; a.target = "_blank"; a.rel = "noopener";
        b.appendChild(a);
      } else if (part) {
        b.appendChild(document.createTextNode(part));
      }
    });
    return b;
  }

  function placeholder(text) { return el("div", "bubble placeholder", text); }

  function renderMessage(m) {
    switch (m.type) {
      case "text":
      case "textV2":
        return textBubble(m.text);
      case "sticker":
        return placeholder("（スタンプ " + m.packageId + "/" + m.stickerId + "）");
      case "image":
        if (isHttp(m.previewImageUrl || m.originalContentUrl)) {
          var img = el("img", "imgmsg");
          img.src = m.previewImageUrl || m.originalContentUrl;
          img.alt = "画像";
          return img;
        }
        return placeholder("（画像）");
      case "video":
        return placeholder("🎬 動画");
      case "audio":
        return placeholder("🔊 音声");
      case "location":
        return el("div", "bubble", "📍 " + (m.title || "") + "\n" + (m.address || "") + "\n" +
                                   m.latitude + ", " + m.longitude);
      case "imagemap":
        return placeholder("（イメージマップ）" + (m.altText || ""));
      case "template":
        return renderTemplate(m.template || {}, m.altText);
      case "flex":
        return renderFlexContainer(m.contents || {});
      default:
        return placeholder(m.altText || "（" + m.type + " メッセージ）");
    }
  }

  function actionButton(action, cls) {
    var b = el("button", cls, (action && action.label) || "（ラベルなし）");
    b.type = "button";
    b.addEventListener("click", function () { performAction(action); });
    return b;
  }

  function templateCard(col, actions, confirm) {
    var card = el("div", "tcard");
    if (isHttp(col.thumbnailImageUrl)) {
      var img = el("img", "thumb");
      img.src = col.thumbnailImageUrl; img.alt = "";
      card.appendChild(img);
    }
    var body = el("div", "tbody");
    if (col.title) body.appendChild(el("div", "ttitle", col.title));
    body.appendChild(el("div", "ttext", col.text || ""));
    if (col.defaultAction) {
      body.classList.add("fx-action");
      body.addEventListener("click", function () { performAction(col.defaultAction); });
    }
    card.appendChild(body);
    var holder = confirm ? el("div", "tconfirm") : card;
    (actions || []).forEach(function (a) { holder.appendChild(actionButton(a, "tact")); });
    if (confirm) card.appendChild(holder);
    return card;
  }

  function renderTemplate(t) {
    if (t.type === "buttons") return templateCard(t, t.actions, false);
    if (t.type === "confirm") return templateCard({ text: t.text }, t.actions, true);
    var scroller = el("div", "hscroll");
    if (t.type === "carousel") {
      (t.columns || []).forEach(function (c) { scroller.appendChild(templateCard(c, c.actions, false)); });
    } else if (t.type === "image_carousel") {
      (t.columns || []).forEach(function (c) {
        var b = el("button", "imgcol");
        b.type = "button";
        if (isHttp(c.imageUrl)) { var img = el("img"); img.src = c.imageUrl; img.alt = ""; b.appendChild(img); }
        if (c.action && c.action.label) b.appendChild(el("span", null, c.action.label));
        b.addEventListener("click", function () { performAction(c.action); });
        scroller.appendChild(b);
      });
    }
    return scroller;
  }

  /* ---------- flex ---------- */
  function sizeOf(value, table) {
    if (value === undefined || value === null) return null;
    if (Object.prototype.hasOwnProperty.call(table, value)) return table[value] + "px";
    if (/^\d+(\.\d+)?(px|%)$/.test(String(value))) return String(value);
    return null;
  }

  function renderFlexContainer(c) {
    if (c.type === "carousel") {
      var scroller = el("div", "hscroll");
      (c.contents || []).forEach(function (b) { scroller.appendChild(renderBubble(b)); });
      return scroller;
    }
    return renderBubble(c);
  }

  function renderBubble(b) {
    var node = el("div", "fx-bubble " + (b.size || "mega"));
    if (b.direction === "rtl") node.dir = "rtl";
    var styles = b.styles || {};
    var first = true;
    ["header", "hero", "body", "footer"].forEach(function (name) {
      var part = b[name];
      if (!part) return;
      var st = styles[name] || {};
      var block = el("div", "fx-block " + (name === "hero" ? "hero" : name));
      if (st.backgroundColor) block.style.backgroundColor = st.backgroundColor;
      if (st.separator && !first) {
        block.classList.add("sep");
        if (st.separatorColor) block.style.borderTopColor = st.separatorColor;
      }
      var inner = renderComponent(part, "vertical");
      if (name === "hero" && part.type === "image") inner.style.width = "100%";
      if (name !== "hero" && part.type === "box") {
        // The root box is the block on LINE: its background fills the block and its padding replaces the default.
        var padded = ["paddingAll", "paddingTop", "paddingBottom", "paddingStart", "paddingEnd"]
          .some(function (k) { return part[k] !== undefined; });
        if (!padded) inner.style.padding = name === "footer" ? "8px 14px 14px" : "16px 14px";
        inner.style.flex = "1 1 auto";
      }
      block.appendChild(inner);
      node.appendChild(block);
      first = false;
    });
    if (b.action) makeTappable(node, b.action);
    return node;
  }

  function makeTappable(node, action) {
    node.classList.add("fx-action");
    node.addEventListener("click", function (e) { e.stopPropagation(); performAction(action); });
  }

  function applyCommon(node, c, parentLayout) {
    var flex = c.flex;
    if (flex === undefined) flex = parentLayout === "vertical" ? 0 : 1;
    if (parentLayout === "vertical") node.style.flex = flex > 0 ? flex + " 1 0" : "0 0 auto";
    else node.style.flex = flex > 0 ? flex + " 1 0" : "0 0 auto";
    var margin = sizeOf(c.margin, SPACE);
    if (margin) {
      if (parentLayout === "vertical") node.style.marginTop = margin;
      else node.style.marginInlineStart = margin;
    }
    if (c.gravity && parentLayout !== "vertical") {
      node.style.alignSelf = { top: "flex-start", center: "center", bottom: "flex-end" }[c.gravity] || "";
    }
    if (c.position === "absolute") {
      node.style.position = "absolute";
      ["Top", "Bottom", "Start", "End"].forEach(function (side) {
        var v = sizeOf(c["offset" + side], SPACE);
        if (!v) return;
        var prop = { Top: "top", Bottom: "bottom", Start: "left", End: "right" }[side];
        node.style[prop] = v;
      });
    } else {
      ["Top", "Bottom", "Start", "End"].forEach(function (side) {
        var v = sizeOf(c["offset" + side], SPACE);
        if (v) { node.style.position = "relative"; node.style[{ Top: "top", Bottom: "bottom", Start: "left", End: "right" }[side]] = v; }
      });
    }
    if (c.action && c.type !== "button") makeTappable(node, c.action);
  }

  function renderComponent(c, parentLayout) {
    var node;
    switch (c.type) {
      case "box": node = renderBox(c); break;
      case "text": node = renderText(c); break;
      case "button": node = renderButton(c); break;
      case "image": node = renderImage(c); break;
      case "icon":
        node = el("img", "fx-icon");
        if (isHttp(c.url)) node.src = c.url;
        node.alt = "";
        var s = sizeOf(c.size || "md", FONT);
        if (s) { node.style.width = s; node.style.height = s; }
        break;
      case "separator":
        node = el("div", "fx-sep");
        if (c.color) node.style.backgroundColor = c.color;
        break;
      case "filler":
        node = el("div", "fx-filler");
        break;
      case "spacer":
        node = el("div");
        node.style.minHeight = node.style.minWidth = sizeOf(c.size || "md", SPACE) || "8px";
        break;
      case "video":
        node = c.altContent ? renderComponent(c.altContent, parentLayout) : el("div", "fx-missing", "動画");
        return node;
      default:
        node = el("div", "fx-missing", c.type || "?");
    }
    applyCommon(node, c, parentLayout);
    if (c.type === "separator" || c.type === "icon" || c.type === "spacer") node.style.flex = "0 0 auto";
    return node;
  }

  function renderBox(c) {
    var layout = c.layout || "vertical";
    var node = el("div", "fx-box " + layout);
    var gap = sizeOf(c.spacing, SPACE);
    if (gap) node.style.gap = gap;
    if (c.backgroundColor) node.style.backgroundColor = c.backgroundColor;
    if (c.background && c.background.type === "linearGradient") {
      node.style.background = "linear-gradient(" + (c.background.angle || "0deg") + ", " +
        (c.background.startColor || "#fff") + ", " + (c.background.endColor || "#fff") + ")";
    }
    if (c.borderColor || c.borderWidth) {
      var bw = sizeOf(c.borderWidth || "normal", BORDER) || "1px";
      node.style.border = bw + " solid " + (c.borderColor || "#000");
    }
    var radius = sizeOf(c.cornerRadius, SPACE);
    if (radius) { node.style.borderRadius = radius; node.style.overflow = "hidden"; }
    var pad = sizeOf(c.paddingAll, SPACE);
    if (pad) node.style.padding = pad;
    [["paddingTop", "paddingTop"], ["paddingBottom", "paddingBottom"], ["paddingStart", "paddingInlineStart"],
     ["paddingEnd", "paddingInlineEnd"]].forEach(function (p) {
      var v = sizeOf(c[p[0]], SPACE);
      if (v) node.style[p[1]] = v;
    });
    ["width", "maxWidth", "height", "maxHeight"].forEach(function (k) { if (c[k]) node.style[k] = c[k]; });
    if (c.justifyContent) node.style.justifyContent = c.justifyContent;
    if (c.alignItems) node.style.alignItems = c.alignItems;
    (c.contents || []).forEach(function (child) { node.appendChild(renderComponent(child, layout)); });
    return node;
  }

  function styleText(node, c) {
    var size = sizeOf(c.size, FONT);
    if (size) node.style.fontSize = size;
    if (c.weight === "bold") node.style.fontWeight = "bold";
    if (c.color) node.style.color = c.color;
    if (c.style === "italic") node.style.fontStyle = "italic";
    if (c.decoration && c.decoration !== "none") node.style.textDecoration = c.decoration;
  }

  function renderText(c) {
    var node = el("div", "fx-text" + (c.wrap ? " wrap" : ""));
    if (c.contents && c.contents.length) {
      c.contents.forEach(function (span) {
        var s = el("span", null, span.text || "");
        styleText(s, span);
        node.appendChild(s);
      });
    } else {
      node.textContent = c.text || "";
    }
    styleText(node, c);
    if (c.align) node.style.textAlign = { start: "start", end: "end", center: "center" }[c.align] || "";
    if (c.wrap && c.maxLines > 0) {
      node.style.display = "-webkit-box";
      node.style.webkitLineClamp = String(c.maxLines);
      node.style.webkitBoxOrient = "vertical";
      node.style.overflow = "hidden";
    }
    if (c.lineSpacing) node.style.lineHeight = "calc(1.4em + " + c.lineSpacing + ")";
    return node;
  }

  function renderButton(c) {
    var style = c.style || "link";
    var node = actionButton(c.action || {}, "fx-btn " + style + " " + (c.height || "md"));
    if (c.color) {
      if (style === "link") node.style.color = c.color;
      else node.style.backgroundColor = c.color;
    }
    return node;
  }

  function renderImage(c) {
    var wrap = el("div");
    wrap.style.display = "flex";
    wrap.style.justifyContent = ALIGN[c.align || "center"] || "center";
    var node;
    if (isHttp(c.url)) {
      node = el("img", "fx-img" + (c.aspectMode === "fit" ? " fit" : ""));
      node.src = c.url;
      node.alt = "";
    } else {
      node = el("div", "fx-missing", "画像");
    }
    var size = c.size || "md";
    node.style.width = size === "full" ? "100%" : (sizeOf(size, IMG) || "100px");
    var ratio = (c.aspectRatio || "1:1").split(":");
    if (ratio.length === 2) node.style.aspectRatio = ratio[0] + " / " + ratio[1];
    if (c.backgroundColor) node.style.backgroundColor = c.backgroundColor;
    wrap.appendChild(node);
    return wrap;
  }

  /* ---------- quick reply ---------- */
  function showQuick(items) {
    var bar = $("quick");
    bar.textContent = "";
    items.forEach(function (item) {
      var a = item.action || {};
      var b = el("button");
      b.type = "button";
      if (isHttp(item.imageUrl)) { var img = el("img"); img.src = item.imageUrl; img.alt = ""; b.appendChild(img); }
      b.appendChild(document.createTextNode(a.label || a.text || a.type));
      b.addEventListener("click", function () { clearQuick(); performAction(a); });
      bar.appendChild(b);
    });
  }
  function clearQuick() { $("quick").textContent = ""; }

  /* ---------- sending ---------- */
  function sendEvent(payload) {
    if (!state.user) return Promise.resolve();
    var u = findUser(state.user);
    payload.user = state.user;
    payload.displayName = u.short || u.name;
    return api("/_emulator/send", payload).then(function (res) {
      if (res.status === null || res.status === undefined) {
        sysLine("ボットに届きませんでした：" + (res.error || res.message || "不明なエラー"), true);
      } else if (res.status < 200 || res.status >= 300) {
        sysLine("Webhook が " + res.status + " を返しました", true);
      }
      return poll();
    }).catch(function (e) { sysLine("エミュレーターに接続できません：" + e, true); });
  }

  function sendText(text) {
    if (!text || state.blocked) return;
    clearQuick();
    return sendEvent({ type: "text", text: text });
  }
  function sendPostback(data, params, display) {
    if (state.blocked) return;
    clearQuick();
    var payload = { type: "postback", data: data || "" };
    if (params) payload.params = params;
    if (display) payload.displayText = display;
    return sendEvent(payload);
  }
  function sendLocation(lat, lon, title, address) {
    closeSheets();
    clearQuick();
    return sendEvent({ type: "location", latitude: lat, longitude: lon, title: title || undefined,
                       address: address || undefined });
  }

  function performAction(a) {
    if (!a) return;
    if (state.blocked && a.type !== "uri") { sysLine("ブロック中は操作できません", true); return; }
    switch (a.type) {
      case "message": return sendText(a.text);
      case "postback": return sendPostback(a.data, null, a.displayText || a.text);
      case "datetimepicker": return openPicker(a);
      case "uri":
        if (isHttp(a.uri)) window.open(a.uri, "_blank", "noopener");
        else sysLine("リンクを開きます：" + a.uri);
        return;
      case "location": return openLocationSheet();
      case "camera":
      case "cameraRoll": sysLine("エミュレーターではカメラ・写真は使えません"); return;
      case "clipboard":
        if (navigator.clipboard) navigator.clipboard.writeText(a.clipboardText || "");
        sysLine("コピーしました");
        return;
      case "richmenuswitch":
        return sendPostback(a.data, { newRichMenuAliasId: a.richMenuAliasId, status: "SUCCESS" });
      default:
        sysLine("未対応のアクションです：" + a.type, true);
    }
  }

  /* ---------- sheets ---------- */
  function closeSheets() {
    $("locationSheet").classList.remove("open");
    $("pickerSheet").classList.remove("open");
  }
  function openLocationSheet() {
    $("locationSheet").classList.add("open");
    if (state.districts) return;
    api("/_emulator/districts").then(function (list) {
      state.districts = Array.isArray(list) ? list : [];
      var box = $("districtList");
      box.textContent = "";
      if (!state.districts.length) box.appendChild(el("div", "placeholder", "地区データがありません。緯度・経度を入力してください。"));
      state.districts.forEach(function (d) {
        var b = el("button");
        b.type = "button";
        b.appendChild(document.createTextNode(d.name));
        if (d.kana) b.appendChild(el("small", null, d.kana));
        if (d.lat === null || d.lat === undefined || d.lon === null || d.lon === undefined) {
          b.disabled = true;
          b.appendChild(el("small", null, "（位置未設定）"));
        } else {
          b.addEventListener("click", function () {
            sendLocation(Number(d.lat), Number(d.lon), d.name, "神奈川県小田原市" + d.name);
          });
        }
        box.appendChild(b);
      });
    });
  }
  function openPicker(a) {
    var mode = a.mode || "date";
    var input = $("pickerInput");
    input.type = { date: "date", time: "time", datetime: "datetime-local" }[mode] || "date";
    function fix(v) { return v ? String(v).replace("t", "T") : ""; }
    input.min = fix(a.min); input.max = fix(a.max); input.value = fix(a.initial);
    $("pickerTitle").textContent = a.label || "日時を選択";
    state.picker = a;
    $("pickerSheet").classList.add("open");
    input.focus();
  }

  /* ---------- rich menu ---------- */
  function loadRichMenu() {
    if (!state.user) return;
    return api("/_emulator/richmenu?user=" + encodeURIComponent(state.user)).then(function (res) {
      var menu = res.richMenu;
      var bar = $("menubar"), box = $("richmenu");
      if (!menu) {
        state.menuId = null;
        bar.classList.remove("show"); box.classList.remove("open"); box.textContent = "";
        return;
      }
      if (menu.richMenuId === state.menuId) return;
      state.menuId = menu.richMenuId;
      box.textContent = "";
      var img = el("img");
      img.src = res.image;
      img.alt = menu.name || "リッチメニュー";
      box.appendChild(img);
      var W = menu.size.width, H = menu.size.height;
      (menu.areas || []).forEach(function (area) {
        var bd = area.bounds, b = el("button", "area");
        b.type = "button";
        b.style.left = (bd.x / W * 100) + "%"; b.style.top = (bd.y / H * 100) + "%";
        b.style.width = (bd.width / W * 100) + "%"; b.style.height = (bd.height / H * 100) + "%";
        b.title = (area.action && (area.action.label || area.action.text || area.action.data)) || "";
        b.setAttribute("aria-label", b.title || "メニュー");
        b.addEventListener("click", function () { performAction(area.action); });
        box.appendChild(b);
      });
      state.menuOpen = !!menu.selected;
      bar.dataset.label = menu.chatBarText || "メニュー";
      bar.classList.add("show");
      updateMenu();
    });
  }
  function updateMenu() {
    var bar = $("menubar");
    bar.textContent = (bar.dataset.label || "メニュー") + (state.menuOpen ? " ▼" : " ▲");
    $("richmenu").classList.toggle("open", state.menuOpen);
  }

  /* ---------- block / panel ---------- */
  function setBlocked(blocked) {
    state.blocked = blocked;
    $("blockToggle").textContent = blocked ? "ブロック解除" : "ブロックする";
    var banner = $("banner");
    banner.textContent = blocked ? "このアカウントをブロック中です。ブロックを解除するとメッセージを送れます。" : "";
    banner.classList.toggle("show", blocked);
    $("text").disabled = blocked;
    $("plus").disabled = blocked;
    $("send").disabled = blocked || !$("text").value.trim();
    if (blocked) clearQuick();
    $("phone").classList.toggle("blocked", blocked);
  }

  /* ---------- wiring ---------- */
  function init() {
    renderUserSelect();
    $("userSelect").addEventListener("change", function (e) {
      if (e.target.value === "__new__") newUser(); else selectUser(e.target.value);
    });
    $("newUser").addEventListener("click", newUser);
    $("panelToggle").addEventListener("click", function () { $("panel").classList.toggle("open"); });
    $("clearView").addEventListener("click", function () { $("log").textContent = ""; });
    $("blockToggle").addEventListener("click", function () {
      sendEvent({ type: state.blocked ? "follow" : "unfollow" });
    });
    $("text").addEventListener("input", function () { $("send").disabled = state.blocked || !this.value.trim(); });
    $("composer").addEventListener("submit", function (e) {
      e.preventDefault();
      var input = $("text"), text = input.value;
      if (!text.trim()) return;
      input.value = "";
      $("send").disabled = true;
      sendText(text);
    });
    $("plus").addEventListener("click", openLocationSheet);
    $("menubar").addEventListener("click", function () { state.menuOpen = !state.menuOpen; updateMenu(); });
    $("menubar").addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); state.menuOpen = !state.menuOpen; updateMenu(); }
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-close]"), function (b) {
      b.addEventListener("click", closeSheets);
    });
    Array.prototype.forEach.call(document.querySelectorAll(".sheet-back"), function (back) {
      back.addEventListener("click", function (e) { if (e.target === back) closeSheets(); });
    });
    $("sendLatLon").addEventListener("click", function () {
      var lat = parseFloat($("lat").value), lon = parseFloat($("lon").value);
      if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) {
        window.alert("緯度・経度を正しく入力してください（例：35.2564, 139.1550）");
        return;
      }
      sendLocation(lat, lon, $("locTitle").value.trim() || null, null);
    });
    $("pickerOk").addEventListener("click", function () {
      var a = state.picker, value = $("pickerInput").value;
      if (!a || !value) return;
      closeSheets();
      var params = {};
      params[a.mode || "date"] = value;
      sendPostback(a.data, params, null);
    });
    api("/_emulator/config").then(function (cfg) { $("webhookUrl").value = cfg.webhook_url || ""; });
    $("saveWebhook").addEventListener("click", function () {
      api("/_emulator/config", { webhook_url: $("webhookUrl").value.trim() }).then(function () {
        sysLine("Webhook URL を保存しました");
      });
    });
    var last = localStorage.getItem(LAST_KEY);
    var start = allUsers().some(function (u) { return u.id === last; }) ? last : DEMO_USERS[0].id;
    selectUser(start).then(schedulePoll, schedulePoll);
  }

  document.addEventListener("DOMContentLoaded", init);
})();
