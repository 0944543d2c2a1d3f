/**
 * webchat-bff loader. On any site: <script src="https://chat.example.com/widget.js" async></script>
 * adds a launcher button; the chat (an iframe of /chat) loads only when wanted (on click; hover
 * or focus prefetches), or at once on later pages while a chat is going on.
 *
 * Options, as data- attributes on the tag: data-position="right|left", data-color="#1f5fbf",
 * data-lang="de", data-text="Questions?", data-z-index="2147483000", data-offset="20" or "20 40"
 * (px from the side and from the bottom).
 * API: window.WebChat.open(), .close(), .toggle(), .setParameters({first_name, email, from,
 * phone_number, <hidden fields>}), .on(event, fn) → unsubscribe, for 'open', 'close', 'message',
 * 'unread', 'chatStarted', 'chatEnded'. Calls made before the script loaded may be queued in
 * window.WebChat = {q: [['setParameters', {...}], ...]}.
 * Messages to and from the chat go only to and are taken only from the chat's own origin.
 */
(() => {
  'use strict';
  const me = document.currentScript;
  const queued = window.WebChat?.q;
  if (!me || window.WebChat?.open) return;
  const origin = new URL(me.src, location.href).origin;
  const d = me.dataset;
  const ALL = /*STRINGS*/{};
  const pick = (l) => l && (ALL[l] ? l : ALL[l.split('-')[0].toLowerCase()] && l.split('-')[0].toLowerCase());
  const lang = [d.lang, ...(navigator.languages || [navigator.language])].map(pick).find(Boolean) || 'en';
  const S = ALL[lang] || { open: 'Chat', close: 'Close chat', unread: '{n} unread' };
  const num = (v, dflt) => (/^\d{1,10}$/.test(v || '') ? +v : dflt);
  const [ox, oy] = (d.offset || '').split(/[\s,]+/).map((v) => num(v, null));
  const x = ox ?? 20;
  const y = oy ?? ox ?? 20;
  const side = d.position === 'left' ? 'left' : 'right';
  const color = d.color && CSS.supports('color', d.color) ? d.color : '#1f5fbf';
  const z = num(d.zIndex, 2147483000);
  const saved = (() => { try { return JSON.parse(sessionStorage.getItem('webchat')) || {}; } catch { return {}; } })();
  const handlers = {};
  let params = {};
  let host; let root; let btn; let label; let badge; let panel; let frame;
  let ready = false; let isOpen = false; let unread = 0;

  const CSS_TEXT = `:host{all:initial}
.l{position:fixed;${side}:${x}px;bottom:${y}px;z-index:${z};display:flex;align-items:center;gap:8px;padding:12px 20px;border:0;border-radius:999px;background:${color};color:#fff;font:600 16px/1.2 system-ui,sans-serif;cursor:pointer;box-shadow:0 2px 12px #0006}
.l:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
.b{min-width:22px;padding:2px 6px;border-radius:11px;background:#b3261e;color:#fff;font-size:13px;text-align:center}
.p{position:fixed;${side}:${x}px;bottom:${y + 64}px;z-index:${z};width:min(380px,calc(100vw - ${2 * x}px));height:min(640px,calc(100vh - ${y + 84}px));border-radius:14px;overflow:hidden;background:#fff;box-shadow:0 8px 32px #0005;display:none}
.p.o{display:block}iframe{border:0;width:100%;height:100%;display:block}
@media (max-width:480px){.p{inset:0;width:100%;height:100%;border-radius:0}.o~.l{display:none}}`;

  const el = (tag, cls) => Object.assign(document.createElement(tag), cls ? { className: cls } : {});
  const save = (patch) => { Object.assign(saved, patch); try { sessionStorage.setItem('webchat', JSON.stringify(saved)); } catch { /* no storage */ } };
  const emit = (name, data) => (handlers[name] || []).forEach((fn) => setTimeout(fn, 0, data)); // a failing listener breaks nothing
  const post = (msg) => { if (ready) frame.contentWindow.postMessage({ ...msg, webchat: 1 }, origin); };
  const pageTitle = () => document.title.replace(/^\(\d+\) /, '');
  const context = () => post({ type: 'context', url: location.href, title: pageTitle(), params, open: isOpen && !document.hidden });

  function init() {
    host = el('div');
    host.setAttribute('data-webchat', '');
    root = host.attachShadow({ mode: 'open' });
    if (root.adoptedStyleSheets) {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS_TEXT);
      root.adoptedStyleSheets = [sheet];
    } else root.append(Object.assign(el('style'), { textContent: CSS_TEXT }));
    btn = el('button', 'l');
    btn.type = 'button';
    btn.setAttribute('aria-expanded', 'false');
    btn.innerHTML = '<svg aria-hidden="true" width="22" height="22" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"><path d="M4 4h16v12H8l-4 4z"/></svg>';
    label = el('span');
    badge = el('span', 'b');
    badge.setAttribute('aria-hidden', 'true');
    badge.hidden = true;
    btn.append(label, badge);
    btn.addEventListener('click', toggle);
    btn.addEventListener('pointerenter', build, { once: true });
    btn.addEventListener('focus', build, { once: true });
    btn.addEventListener('keydown', (e) => { if (e.key === 'Escape') close(); });
    root.append(btn);
    document.body.append(host);
    render();
    if (saved.active || saved.open) build();
    if (saved.open) open(false);
    [].concat(queued || []).forEach(([name, ...args]) => api[name] && api[name](...args));
  }

  function render() {
    label.textContent = isOpen ? S.close : d.text || S.open;
    badge.textContent = unread || '';
    badge.hidden = !unread;
    if (unread) btn.setAttribute('aria-label', `${label.textContent}, ${S.unread.replace('{n}', unread)}`);
    else btn.removeAttribute('aria-label');
    const base = pageTitle();
    document.title = unread && (document.hidden || !isOpen) ? `(${unread}) ${base}` : base;
  }

  function build() {
    if (frame) return;
    panel = el('div', 'p');
    frame = el('iframe');
    frame.title = S.open;
    frame.allow = 'geolocation; clipboard-write';
    frame.src = `${origin}/chat?lang=${encodeURIComponent(lang)}&origin=${encodeURIComponent(location.origin)}${saved.t ? '#t=' + saved.t : ''}`;
    panel.append(frame);
    root.insertBefore(panel, btn);
    fitViewport();
  }

  /** Phones: the full-screen panel follows the visual viewport, so the keyboard never hides the input. */
  function fitViewport() {
    const vv = window.visualViewport;
    if (!panel) return;
    const small = vv && matchMedia('(max-width:480px)').matches;
    panel.style.height = small ? `${vv.height}px` : '';
    panel.style.top = small ? `${vv.offsetTop}px` : '';
  }

  function open(focus = true) {
    if (!btn) return;
    build();
    if (!isOpen) {
      isOpen = true;
      panel.classList.add('o');
      btn.setAttribute('aria-expanded', 'true');
      save({ open: true });
      emit('open');
    }
    render();
    if (focus) frame.focus();
    context();
  }

  function close() {
    if (!isOpen) return;
    const inside = root.activeElement === frame;
    isOpen = false;
    panel.classList.remove('o');
    btn.setAttribute('aria-expanded', 'false');
    save({ open: false });
    render();
    context();
    if (inside) btn.focus();
    emit('close');
  }

  const toggle = () => (isOpen ? close() : open());

  addEventListener('message', (e) => {
    if (!frame || e.source !== frame.contentWindow || e.origin !== origin) return;
    const m = e.data;
    if (!m || m.webchat !== 1) return;
    if (m.type === 'ready') { ready = true; save({ t: m.token }); context(); }
    else if (m.type === 'close') close();
    else if (m.type === 'unread') { unread = Math.max(0, m.count | 0); render(); emit('unread', { count: unread }); }
    else if (m.type === 'message') emit('message', { text: String(m.text || ''), from: String(m.from || '') });
    else if (m.type === 'chat') {
      save({ active: !!m.active });
      if (m.started) emit('chatStarted');
      if (m.ended) emit('chatEnded');
    }
  });
  document.addEventListener('visibilitychange', () => { if (btn) { render(); context(); } });
  // The page the visitor is on, for the agent: also single-page apps' history.pushState and
  // replaceState (the Navigation API, where there is one; else only back and forward).
  addEventListener('popstate', context);
  window.navigation?.addEventListener('navigatesuccess', context);
  ['resize', 'scroll'].forEach((t) => window.visualViewport?.addEventListener(t, fitViewport));

  const api = {
    open: () => open(),
    close,
    toggle,
    /** Prefill of the pre-chat form, hidden fields, `from` and `phone_number`. */
    setParameters(values) {
      if (values && typeof values === 'object') params = { ...params, ...JSON.parse(JSON.stringify(values)) };
      post({ type: 'params', params });
    },
    /** Subscribes `fn` to `event`; returns a function that unsubscribes it. */
    on(event, fn) {
      if (typeof fn !== 'function') return () => {};
      (handlers[event] = handlers[event] || []).push(fn);
      return () => { handlers[event] = handlers[event].filter((f) => f !== fn); };
    },
  };
  window.WebChat = Object.freeze(api);
  if (document.body) init();
  else addEventListener('DOMContentLoaded', init);
})();
