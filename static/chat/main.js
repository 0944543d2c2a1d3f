/**
 * The chat page's entry point (static/chat/*.js are ES modules: no build step). Also keeps the
 * page the size of the visible viewport, so that on phones the message box stays above the
 * on-screen keyboard.
 */
import { App } from './controller.js';

const vv = window.visualViewport;
if (vv) {
  const fit = () => document.documentElement.style.setProperty('--wc-height', `${Math.round(vv.height)}px`);
  vv.addEventListener('resize', fit);
  fit();
}

new App(document).run();
