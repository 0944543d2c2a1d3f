/**
 * The pre-chat form: fields built from GET /api/parameters, prefilled from the host page's
 * WebChat.setParameters(), validated with messages in the visitor's language.
 */
import { el, fetchJSON } from './util.js';
import { t } from './i18n.js';

const MAX_FIELD = 200;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^\+?[0-9 ()./-]{5,30}$/;

/** What each ServicePattern parameter type becomes; anything else is a text field. */
const FIELD_TYPES = {
  FIRST_NAME: { label: 'field.first_name', type: 'text', autocomplete: 'given-name', required: true },
  LAST_NAME: { label: 'field.last_name', type: 'text', autocomplete: 'family-name' },
  EMAIL: { label: 'field.email', type: 'email', autocomplete: 'email' },
  PHONE: { label: 'field.phone', type: 'tel', autocomplete: 'tel' },
};

/** "account_number" / "accountNumber" → "Account number". */
function humanise(name) {
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[_\-.\s]+/g, ' ').trim().toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Accepts [{name, type}] and the documented single-key form [{"<name>": "<TYPE>"}]. */
export function normaliseParameters(list) {
  return (Array.isArray(list) ? list : []).map((p) => {
    if (p && typeof p.name === 'string') return { name: p.name, type: String(p.type || '').toUpperCase() };
    const keys = p && typeof p === 'object' ? Object.keys(p) : [];
    return keys.length === 1 ? { name: keys[0], type: String(p[keys[0]]).toUpperCase() } : null;
  }).filter((p) => p && p.name.trim());
}

export class PreChat {
  /**
   * @param {HTMLFormElement} form
   * @param {function({parameters: object, phone_number?: string, from?: string}): void} onStart
   */
  constructor(form, onStart) {
    Object.assign(this, { form, onStart, loading: null, prefill: {}, inputs: [] });
    this.fields = form.querySelector('#wc-prechat-fields');
    this.errorLine = form.querySelector('#wc-prechat-error');
    this.button = form.querySelector('#wc-start');
    form.addEventListener('submit', (e) => { e.preventDefault(); this.submit(); });
  }

  /** Values from WebChat.setParameters(): field values, hidden fields, `from`, `phone_number`. */
  setPrefill(values) {
    this.prefill = { ...this.prefill, ...values };
    for (const input of this.inputs) {
      const v = this.prefillFor(input.name);
      if (v !== undefined && !input.value) input.value = v;
    }
  }

  prefillFor(name) {
    const key = Object.keys(this.prefill).find((k) => k.toLowerCase() === name.toLowerCase());
    return key === undefined ? undefined : String(this.prefill[key]).slice(0, MAX_FIELD);
  }

  setError(text) { this.errorLine.textContent = text; }
  setBusy(busy) {
    this.button.disabled = busy;
    this.button.textContent = t(busy ? 'prechat.starting' : 'prechat.start');
  }

  /** Focus: the first empty field, else Start chat. */
  focus() { (this.inputs.find((i) => !i.value) || this.button).focus(); }

  /** Loads the fields once (again after a failure). */
  load() {
    this.loading = this.loading || fetchJSON('/api/parameters')
      .then((data) => this.render(normaliseParameters(data && data.parameters)))
      .catch(() => { this.loading = null; });
    return this.loading;
  }

  render(params) {
    this.inputs = [];
    this.fields.replaceChildren(...params.map((p, i) => {
      const known = FIELD_TYPES[p.type] || FIELD_TYPES[p.name.toUpperCase()];
      const input = Object.assign(el('input', 'wc-input'), { id: `wc-param-${i}`, name: p.name, maxLength: MAX_FIELD });
      input.type = known ? known.type : 'text';
      input.dataset.kind = known ? (FIELD_TYPES[p.type] ? p.type : p.name.toUpperCase()) : 'TEXT';
      input.required = !!(known && known.required);
      input.setAttribute('autocomplete', known ? known.autocomplete : 'off');
      if (input.type === 'tel') input.setAttribute('inputmode', 'tel');
      // Addresses and numbers read left to right on any page ("bad@", not "@bad" in Arabic).
      if (['email', 'tel', 'url'].includes(input.type)) input.dir = 'ltr';
      const v = this.prefillFor(p.name);
      if (v !== undefined) input.value = v;
      const label = el('label', 'wc-label', known ? t(known.label) : humanise(p.name));
      label.htmlFor = input.id;
      if (input.required) label.append(el('span', 'wc-required', ` ${t('prechat.required')}`));
      const error = el('p', 'wc-field-error');
      error.id = `${input.id}-error`;
      input.addEventListener('input', () => { if (input.getAttribute('aria-invalid')) this.check(input); });
      const field = el('div', 'wc-field');
      field.append(label, input, error);
      this.inputs.push(input);
      return field;
    }));
  }

  /** Validates one input, showing or clearing its message. @returns {boolean} */
  check(input) {
    const value = input.value.trim();
    let problem = '';
    const label = input.labels[0] ? input.labels[0].firstChild.textContent : input.name;
    if (input.required && !value) problem = t('error.required', { field: label });
    else if (value && input.type === 'email' && !EMAIL.test(value)) problem = t('error.email');
    else if (value && input.type === 'tel' && !PHONE.test(value)) problem = t('error.phone');
    const error = input.parentElement.querySelector('.wc-field-error');
    error.textContent = problem;
    if (problem) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', error.id);
    } else {
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    }
    return !problem;
  }

  submit() {
    this.setError('');
    const bad = this.inputs.filter((input) => !this.check(input));
    if (bad.length) {
      this.setError(t('error.fix'));
      bad[0].focus();
      return;
    }
    this.onStart(this.values());
  }

  /** The start frame's fields: parameters (visible and hidden), phone_number and from. */
  values() {
    const parameters = {};
    const shown = new Set(this.inputs.map((i) => i.name.toLowerCase()));
    for (const [k, v] of Object.entries(this.prefill)) {
      if (!['from', 'phone_number'].includes(k) && !shown.has(k.toLowerCase()) && v !== null && v !== undefined) {
        parameters[k] = String(v).slice(0, MAX_FIELD); // hidden fields
      }
    }
    let phone = '';
    for (const input of this.inputs) {
      const value = input.value.trim();
      if (value) parameters[input.name] = value;
      if (value && input.dataset.kind === 'PHONE' && !phone) phone = value;
    }
    const out = { parameters };
    phone = phone || (this.prefill.phone_number ? String(this.prefill.phone_number) : '');
    if (phone) out.phone_number = phone;
    if (this.prefill.from) out.from = String(this.prefill.from);
    return out;
  }
}
