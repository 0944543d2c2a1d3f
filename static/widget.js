/**
 * webchat-bff loader. On any site: <script src="https://chat.example.com/widget.js" async></script>
 * adds a round launcher button. The rest (static/widget-chat.js: the panel with the chat's iframe,
 * the preview card of the agent's latest message, desktop notifications) loads only when wanted:
 * on click (hover or focus prefetches), or at once on later pages while a chat is going on.
 *
 * Options, as data- attributes on the tag: data-position="right|left" (default: the side the
 * language reads from), data-color="#1f5fbf" (the brand colour of the launcher and the chat; else
 * a THEME_DIR theme's --wc-primary), data-theme="light|dark|auto", data-lang="de",
 * data-text="Questions?" (the launcher's name), data-z-index="2147483000", data-offset="20" or
 * "20 40" (px from the side and from the bottom).
 * API: window.WebChat.open(), .close(), .toggle(), .setParameters({first_name, email, from,
 * phone_number, <hidden fields>}), .on(event, fn) → unsubscribe, for 'open', 'close', 'message',
 * 'unread', 'chatStarted', 'chatEnded'. Calls made before the script loaded may be queued in
 * window.WebChat = {q: [['setParameters', {...}], ...]}.
 *
 * What both parts share is `st` (options, strings, state, the shadow root and the button).
 */
(() => {
  'use strict';
  const doc = document;
  const me = doc.currentScript;
  const W = window.WebChat;
  if (!me || W?.open) return;
  const d = me.dataset;
  const ALL = /*STRINGS*/{};
  const pick = (l) => [l, l?.split('-')[0].toLowerCase()].find((k) => ALL[k]);
  const lang = [d.lang, ...navigator.languages].map(pick).find(Boolean) || 'en';
  const S = ALL[lang] || { open: 'Chat', close: 'Close chat', unread: '{n} unread', dismiss: 'Dismiss' };
  const num = (v, dflt) => (/^\d{1,10}$/.test(v) ? +v : dflt);
  const [ox, oy] = (d.offset || '').split(/[\s,]+/);
  const x = num(ox, 20);
  // Right-to-left languages put the widget on the left, unless the page says where.
  const side = d.position === 'left' || (d.position !== 'right' && S.rtl) ? 'left' : 'right';
  // One brand colour: data-color, else the theme's (put in by the server), else ours.
  const color = CSS.supports('color', d.color) ? d.color : /*COLOR*/'#1f5fbf';
  const handlers = {};
  let saved = {};
  try { saved = JSON.parse(sessionStorage.webchat) || {}; } catch { /* none yet, or no storage */ }
  let more; // the promise of the second part's API

  const st = {
    d, S, lang, side, x, y: num(oy, x), z: num(d.zIndex, 2147483000), saved, handlers,
    origin: new URL(me.src, location.href).origin, params: {}, on: false, unread: 0, brand: '',
    save(patch) { Object.assign(saved, patch); try { sessionStorage.webchat = JSON.stringify(saved); } catch { /* no storage */ } },
    emit: (name, data) => handlers[name]?.forEach((fn) => setTimeout(fn, 0, data)), // a failing listener breaks nothing
    title: () => doc.title.replace(/^\(\d+\) /, ''),
    render,
  };

  // .l the launcher; .m and .x its chat and close icons, which cross-fade; .b the unread badge;
  // .v visually hidden; --f the icon colour (chosen for contrast with the brand colour).
  const CSS_TEXT = `:host{all:initial;font:15px/1.4 system-ui}
.l{position:fixed;${side}:${x}px;bottom:${st.y}px;z-index:${st.z};width:56px;height:56px;padding:0;border:0;border-radius:50%;background:${color};color:var(--f);cursor:pointer;box-shadow:0 2px 12px #0006}
.l:hover{transform:scale(1.06)}.l:focus-visible{outline:3px solid #ffbf47;outline-offset:2px;box-shadow:0 0 0 7px #1d2330}
svg{position:absolute;inset:15px}.x,[aria-expanded=true] .m{opacity:0;transform:rotate(-90deg)scale(.5)}[aria-expanded=true] .x{opacity:1;transform:none}
.b{position:absolute;top:-4px;${side}:-4px;min-width:22px;padding:0 6px;box-sizing:border-box;border-radius:11px;background:#b3261e;color:#fff;font-weight:600;line-height:22px}
.v{position:absolute;clip:rect(0 0 0 0)}@media (prefers-reduced-motion:no-preference){*{transition:opacity .2s,transform .2s,visibility .2s}}`;

  const el = (tag, cls) => Object.assign(doc.createElement(tag), { className: cls });

  /** The second part, loaded once; `then` gets its API ({open, close, toggle, build, post}). */
  function load(then) {
    more ||= new Promise((resolve) => {
      const s = el('script');
      s.src = `${st.origin}/static/widget-chat.js`;
      s.onload = () => resolve(s.chat(st));
      s.onerror = () => { more = null; }; // the next click tries again
      doc.head.append(s);
    });
    return more.then(then);
  }

  function init() {
    const host = el('div');
    host.setAttribute('data-webchat', '');
    const root = host.attachShadow({ mode: 'open' });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS_TEXT);
    root.adoptedStyleSheets = [sheet];
    const btn = el('button', 'l');
    btn.type = 'button';
    btn.setAttribute('aria-expanded', false);
    btn.innerHTML = [['m', 'M4 4h16v12H8l-4 4z'], ['x', 'M6 6l12 12M18 6 6 18']].map(([c, p]) => `<svg class="${c}" aria-hidden="true" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"><path d="${p}"/></svg>`).join('');
    st.label = el('span', 'v');
    st.badge = el('span', 'b');
    st.badge.setAttribute('aria-hidden', 'true');
    btn.append(st.label, st.badge);
    btn.onclick = api.toggle;
    btn.onpointerenter = btn.onfocus = () => load((c) => c.build());
    btn.onkeydown = (e) => { if (e.key === 'Escape') api.close(); };
    root.append(btn);
    doc.body.append(host);
    Object.assign(st, { host, root, btn });
    // The icon's colour: black on light brands, white on dark ones (the better WCAG contrast).
    const rgb = getComputedStyle(btn).backgroundColor.match(/[\d.]+/g).slice(0, 3);
    const [r, g, b] = rgb.map((v) => ((v /= 255) < 0.04 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
    host.style.setProperty('--f', 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? '#000' : '#fff');
    // data-color reaches the chat as well, as #rrggbb whatever CSS colour the tag gave.
    if (d.color === color) st.brand = '#' + rgb.map((v) => (+v).toString(16).padStart(2, 0)).join('');
    render();
    if (saved.active || saved.open) load((c) => (saved.open ? c.open(false) : c.build()));
    W?.q?.forEach(([name, ...args]) => api[name]?.(...args));
  }

  function render() {
    const { label, badge, btn, unread } = st;
    label.textContent = st.on ? S.close : d.text || S.open;
    badge.textContent = unread || '';
    badge.hidden = !unread;
    if (unread) btn.setAttribute('aria-label', `${label.textContent}, ${S.unread.replace('{n}', unread)}`);
    else btn.removeAttribute('aria-label');
    doc.title = unread && (doc.hidden || !st.on) ? `(${unread}) ${st.title()}` : st.title();
  }

  doc.addEventListener('visibilitychange', () => st.btn && render());

  const api = {
    open: () => load((c) => c.open()),
    close: () => more?.then((c) => c.close()),
    toggle: () => load((c) => c.toggle()),
    /** Prefill of the pre-chat form, hidden fields, `from` and `phone_number`. */
    setParameters(values) {
      if (values && typeof values === 'object') st.params = { ...st.params, ...JSON.parse(JSON.stringify(values)) };
      more?.then((c) => c.post({ type: 'params', params: st.params }));
    },
    /** Subscribes `fn` to `event`; returns a function that unsubscribes it. */
    on(event, fn) {
      if (typeof fn !== 'function') return () => {};
      (handlers[event] ||= []).push(fn);
      return () => { handlers[event] = handlers[event].filter((f) => f !== fn); };
    },
  };
  window.WebChat = Object.freeze(api);
  if (doc.body) init();
  else addEventListener('DOMContentLoaded', init);
})();
