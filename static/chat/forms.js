/**
 * Forms the contact center asks for (chat_session_form_show): the web team's fragment from
 * GET /forms/<form_name> (templates/forms/<form_name>.html), or a plain fallback form when it
 * has none. The answer goes back as chat_session_form_data with the form's fields as `data`.
 */
import { el } from './util.js';
import { t } from './i18n.js';
import { store } from './storage.js';

const ANSWERED_KEY = 'webchat.forms';
const DROP = 'script,style,link,iframe,object,embed,base,meta,template';
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/** Our own fragment, still cleaned: no scripts, no handlers, no javascript: URLs. */
function clean(root) {
  root.querySelectorAll(DROP).forEach((n) => n.remove());
  for (const node of root.querySelectorAll('*')) {
    for (const { name, value } of [...node.attributes]) {
      if (/^on/i.test(name) || /^\s*javascript:/i.test(value) || name === 'style') node.removeAttribute(name);
    }
  }
  return root;
}

/** Makes the fragment's ids unique on the page (the same form may be shown twice). */
function uniqueIds(form, suffix) {
  const ids = new Set([...form.querySelectorAll('[id]')].map((n) => n.id));
  const fix = (v) => v.split(/\s+/).map((id) => (ids.has(id) ? `${id}-${suffix}` : id)).join(' ');
  for (const node of form.querySelectorAll('[id]')) node.id = `${node.id}-${suffix}`;
  for (const attr of ['for', 'aria-labelledby', 'aria-describedby', 'aria-controls']) {
    for (const node of form.querySelectorAll(`[${attr}]`)) node.setAttribute(attr, fix(node.getAttribute(attr)));
    if (form.hasAttribute(attr)) form.setAttribute(attr, fix(form.getAttribute(attr)));
  }
}

/** The form shown when the web team supplied none for this name. */
function fallback(suffix) {
  const form = el('form', 'wc-form');
  const title = el('h3', 'wc-form-title', t('form.title'));
  title.id = `wc-form-title-${suffix}`;
  form.setAttribute('aria-labelledby', title.id);
  const label = el('label', 'wc-label', t('form.answer'));
  const input = Object.assign(el('textarea', 'wc-input'), { name: 'text', rows: 3, maxLength: 2000, id: `wc-form-text-${suffix}` });
  label.htmlFor = input.id;
  const actions = el('div', 'wc-form-actions');
  const send = Object.assign(el('button', 'wc-button wc-button--primary', t('form.send')), { type: 'submit' });
  const skip = Object.assign(el('button', 'wc-button wc-button--secondary', t('form.skip')), { type: 'button' });
  skip.dataset.action = 'skip';
  actions.append(send, skip);
  form.append(title, label, input, actions);
  return form;
}

export class Forms {
  /**
   * @param {import('./transcript.js').Transcript} transcript
   * @param {function(object): void} onAnswer gets the chat_session_form_data event
   * @param {function(object): void} onSkip gets the form_show event of a declined form
   */
  constructor(transcript, onAnswer, onSkip) {
    Object.assign(this, { transcript, onAnswer, onSkip });
    this.answered = new Set(store.get(ANSWERED_KEY, [], 'local'));
    /** The forms the web team supplied templates for (the page lists them; no 404s). */
    this.known = new Set((document.getElementById('wc-app').dataset.forms || '').split(' '));
  }

  isAnswered(id) { return this.answered.has(String(id)); }

  markAnswered(id) {
    this.answered.add(String(id));
    store.set(ANSWERED_KEY, [...this.answered].slice(-50), 'local');
  }

  /** Shows the form asked for by `ev` (chat_session_form_show) unless it was answered, in
   * `slot` (a card the transcript reserved where the event came) if given. */
  async show(ev, focus, slot) {
    const id = String(ev.form_request_id ?? '');
    const name = String(ev.form_name ?? '');
    if (this.isAnswered(id)) return void slot?.remove();
    const suffix = id.replace(/[^\w-]/g, '') || String(Date.now());
    let form = null;
    if (NAME.test(name) && this.known.has(name)) {
      try {
        const res = await fetch(`/forms/${name}?lang=${encodeURIComponent(document.documentElement.lang)}`, { credentials: 'same-origin' });
        if (res.ok) form = clean(new DOMParser().parseFromString(await res.text(), 'text/html').body).querySelector('form');
      } catch { /* offline: the fallback below */ }
    }
    form = form ? document.importNode(form, true) : fallback(suffix);
    uniqueIds(form, suffix);
    form.classList.add('wc-form');
    form.noValidate = false;
    const card = this.transcript.card(form, slot);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const data = {};
      for (const [key, value] of new FormData(form)) if (typeof value === 'string') data[key] = value.trim();
      this.finish(card, id, t('form.sent'));
      this.onAnswer({ event: 'chat_session_form_data', form_request_id: ev.form_request_id, form_name: name, data });
    });
    const skip = form.querySelector('[data-action="skip"]');
    if (skip) skip.addEventListener('click', () => { this.finish(card, id, t('form.skipped')); this.onSkip(ev); });
    if (focus) this.reveal(card, form.querySelector('input,textarea,select,button') || form);
  }

  /** Focuses `field` and shows the card from its top, as far as keeping the field in view
   * allows. Only the transcript scrolls: a plain focus() would scroll whatever it can. */
  reveal(card, field) {
    field.focus({ preventScroll: true });
    const log = this.transcript.root;
    const origin = log.getBoundingClientRect().top - log.scrollTop;
    const shown = (field.labels && field.labels[0]) || field; // a radio is drawn by its label
    const top = card.getBoundingClientRect().top - origin - 8;
    const bottom = shown.getBoundingClientRect().bottom - origin + 8;
    log.scrollTo({ top: Math.max(top, bottom - log.clientHeight), behavior: 'instant' });
  }

  finish(card, id, text) {
    this.markAnswered(id);
    const hadFocus = card.contains(document.activeElement);
    const line = this.transcript.system(text);
    card.remove();
    if (hadFocus) document.getElementById('wc-message').focus();
    return line;
  }
}
