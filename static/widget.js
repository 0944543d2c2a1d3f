/* webchat-bff loader: a Chat button opening the chat iframe. */
(() => {
  'use strict';
  const me = document.currentScript;
  if (!me || window.WebChat) return;
  const origin = new URL(me.src).origin;
  const css = (el, s) => Object.assign(el.style, s);
  const fixed = { position: 'fixed', right: '20px', zIndex: '2147483000' };
  let btn;
  let panel;

  function init() {
    btn = document.createElement('button');
    btn.type = 'button';
    btn.textContent = 'Chat';
    btn.setAttribute('aria-expanded', 'false');
    css(btn, { ...fixed, bottom: '20px', padding: '12px 22px', border: '0', borderRadius: '99px',
      background: '#1f5fbf', color: '#fff', font: '600 16px system-ui,sans-serif', cursor: 'pointer',
      boxShadow: '0 2px 10px #0005' });
    btn.onclick = toggle;
    document.body.append(btn);
  }

  function build() {
    panel = document.createElement('div');
    css(panel, { ...fixed, bottom: '80px', width: 'min(380px,calc(100vw - 40px))',
      height: 'min(600px,calc(100vh - 100px))', borderRadius: '12px', overflow: 'hidden',
      background: '#fff', boxShadow: '0 4px 24px #0005' });
    const f = document.createElement('iframe');
    f.src = origin + '/chat';
    f.title = 'Chat';
    css(f, { border: '0', width: '100%', height: '100%', display: 'block' });
    panel.append(f);
    document.body.append(panel);
  }

  const isOpen = () => panel?.style.display === 'block';

  function open() {
    if (!btn) return;
    if (!panel) build();
    panel.style.display = 'block';
    btn.setAttribute('aria-expanded', 'true');
    panel.firstChild.focus();
  }

  function close() {
    if (!isOpen()) return;
    const inside = panel.contains(document.activeElement);
    panel.style.display = 'none';
    btn.setAttribute('aria-expanded', 'false');
    if (inside) btn.focus();
  }

  const toggle = () => (isOpen() ? close() : open());

  window.WebChat = Object.freeze({ open, close, toggle });
  if (document.body) init();
  else addEventListener('DOMContentLoaded', init);
})();
