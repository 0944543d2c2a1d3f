/**
 * The loader's second part (static/widget.js loads it once the chat is wanted): the panel with the
 * chat's iframe and its motion, the preview card of the agent's latest message while the chat is
 * closed, the phone's full screen (the page behind it inert), desktop notifications, and the
 * messages to and from the chat, which go only to and are taken only from the chat's own origin.
 * It hands its API to the loader as `chat` on its own script element: no global of its own.
 */
document.currentScript.chat = (st) => {
  'use strict';
  const doc = document;
  const { d, S, side, x, y, z, origin, saved, root, host, btn } = st;
  const SMALL = '(max-width:480px)';
  // The panel's colour while the chat loads: the chat's own background, light or dark.
  const dark = d.theme === 'dark' || (d.theme !== 'light' && matchMedia('(prefers-color-scheme:dark)').matches);
  const at = `position:fixed;${side}:${x}px;z-index:${z};`;
  let panel; let frame; let card; let ready = false; let held = [];

  // .p the panel (.o open), .c the preview card. On phones the open panel fills the screen and
  // hides the launcher (the chat has its own close button).
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(`.p{${at}bottom:${y + 72}px;width:min(380px,calc(100vw - ${2 * x}px));height:min(640px,calc(100vh - ${y + 92}px));border-radius:14px;overflow:hidden;background:${dark ? '#16191f' : '#fff'};box-shadow:0 8px 32px #0005;visibility:hidden;opacity:0;transform:translateY(12px) scale(.98);transform-origin:bottom ${side}}
.o{visibility:visible;opacity:1;transform:none}iframe{border:0;width:100%;height:100%;display:block;opacity:0}.r iframe{opacity:1}
.c{${at}bottom:${y + 68}px;width:min(300px,calc(100vw - ${2 * x}px));box-sizing:border-box;padding:12px 14px;padding-inline-end:40px;border-radius:14px;background:#fff;color:#1d2330;box-shadow:0 4px 24px #0004;cursor:pointer}
.c b{display:block}.c p{margin:0;overflow:hidden;display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:3;overflow-wrap:anywhere}
.c button{position:absolute;top:4px;inset-inline-end:4px;width:32px;height:32px;border:0;border-radius:50%;background:none;color:#555e6c;font-size:20px;cursor:pointer}
.c button:hover{background:#0001}.c button:focus-visible{outline:3px solid #ffbf47;box-shadow:0 0 0 5px #1d2330}
@media ${SMALL}{.p{inset:0;width:100%;height:100%;border-radius:0}.o~*{display:none}}`);
  root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];

  const el = (tag, cls, text) => Object.assign(doc.createElement(tag), { className: cls || '', textContent: text || '' });
  const post = (msg) => { if (ready) frame.contentWindow.postMessage({ ...msg, webchat: 1 }, origin); };
  const context = () => post({ type: 'context', url: location.href, title: st.title(), params: st.params, open: st.on && !doc.hidden });
  const expanded = () => btn.setAttribute('aria-expanded', st.on);

  function build() {
    if (frame) return;
    panel = el('div', 'p');
    frame = el('iframe');
    frame.title = S.open;
    frame.allow = 'geolocation; clipboard-write; microphone; camera';
    // The chat's language, the host page's origin (checked there), the brand colour of
    // data-color and the data-theme; the visitor's token, if any, in the fragment.
    const q = new URLSearchParams({ lang: st.lang, origin: location.origin });
    if (st.brand) q.set('color', st.brand);
    if (/^(light|dark)$/.test(d.theme)) q.set('theme', d.theme);
    frame.src = `${origin}/chat?${q}${saved.t ? '#t=' + saved.t : ''}`;
    // The chat shows once its scripts gave it the host's look (it says ready; an error page
    // only loads): until then the panel's own background, never a flash of the wrong colours.
    frame.onload = shown;
    panel.append(frame);
    card = el('div', 'c');
    card.hidden = true;
    card.onclick = (e) => {
      card.hidden = true;
      if (e.target === card.lastChild) btn.focus(); else open();
    };
    root.prepend(panel, card);
    fit();
  }

  /** Phones: the full-screen panel follows the visual viewport, so the keyboard never hides the
   * input, and the page behind it is inert (no Tab into links hidden under it) until it closes. */
  function fit() {
    const vv = window.visualViewport;
    const hold = st.on && matchMedia(SMALL).matches;
    if (hold ? !held.length : held.length) {
      held.forEach((e) => { e.inert = false; });
      held = hold ? [...doc.body.children].filter((e) => e !== host && !e.inert) : [];
      held.forEach((e) => { e.inert = true; });
    }
    if (panel) {
      panel.style.height = hold && vv ? `${vv.height}px` : '';
      panel.style.top = hold && vv ? `${vv.offsetTop}px` : '';
    }
  }

  function shown() { panel.classList.add('r'); }

  function open(focus = true) {
    build();
    card.hidden = true;
    if (!st.on) {
      st.on = true;
      panel.classList.add('o');
      expanded();
      st.save({ open: true });
      fit();
      st.emit('open');
    }
    st.render();
    if (focus) frame.focus();
    context();
  }

  function close() {
    if (!st.on) return;
    const inside = root.activeElement === frame;
    st.on = false;
    panel.classList.remove('o');
    expanded();
    st.save({ open: false });
    fit();
    st.render();
    context();
    if (inside) btn.focus();
    st.emit('close');
  }

  /** The agent's latest message by the closed launcher: who, what (as text), a dismiss button. */
  function preview(from, text) {
    const shut = el('button', '', '×');
    shut.type = 'button';
    shut.setAttribute('aria-label', S.dismiss);
    const p = el('p', '', text);
    p.dir = 'auto';
    card.replaceChildren(el('b', '', from), p, shut);
    card.hidden = st.on;
  }

  /** Desktop notifications, which browsers refuse to cross-origin frames: the chat asks for
   * permission after the visitor's first message, and has them shown while this page is hidden. */
  function notify(m) {
    const N = window.Notification;
    if (!N) return;
    if (m.ask && N.permission === 'default') N.requestPermission();
    if (m.title && N.permission === 'granted' && doc.hidden) {
      new N(m.title, { body: m.body, tag: 'webchat' }).onclick = () => { focus(); open(); };
    }
  }

  addEventListener('message', (e) => {
    const m = e.data;
    if (!frame || e.source !== frame.contentWindow || e.origin !== origin || m?.webchat !== 1) return;
    if (m.type === 'ready') { ready = true; shown(); st.save({ t: m.token }); context(); }
    else if (m.type === 'close') close();
    else if (m.type === 'notify') notify(m);
    else if (m.type === 'unread') { st.unread = Math.max(0, m.count | 0); st.render(); st.emit('unread', { count: st.unread }); }
    else if (m.type === 'message') {
      const msg = { text: String(m.text || ''), from: String(m.from || '') };
      preview(msg.from, msg.text);
      st.emit('message', msg);
    } else if (m.type === 'chat') {
      st.save({ active: !!m.active });
      if (m.started) st.emit('chatStarted');
      if (m.ended) st.emit('chatEnded');
    }
  });
  doc.addEventListener('visibilitychange', context);
  // The page the visitor is on, for the agent: also single-page apps' history.pushState and
  // replaceState (the Navigation API, where there is one; else only back and forward).
  addEventListener('popstate', context);
  window.navigation?.addEventListener('navigatesuccess', context);
  ['resize', 'scroll'].forEach((t) => window.visualViewport?.addEventListener(t, fit));

  return { build, open, close, post, toggle: () => (st.on ? close() : open()) };
};
