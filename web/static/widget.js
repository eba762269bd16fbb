/*
 * General Scheduler booking widget: <gs-booking> and <gs-manage> (contract §11).
 *
 *   <script src="https://scheduler.example/widget.js" defer></script>
 *   <gs-booking api="https://scheduler.example" location="LOCATION_ID" person="?" lang="en|ar">
 *   <gs-manage api="https://scheduler.example" token="MANAGE_TOKEN" lang="en|ar">
 *
 * Plain modern JavaScript with no dependencies, built on the public API only. Each element
 * renders into an open shadow root, so the host page's styles do not reach in and the
 * widget's do not leak out; the host sets colours through CSS custom properties (--gs-*).
 * Every error the API or the network gives is shown in words; nothing is swallowed.
 */
(() => {
  "use strict";

  const TEXT = {
    en: {
      title: "Book an appointment",
      loading: "Loading…",
      chooseDate: "Choose a date",
      chooseTime: "Choose a time",
      timesFree: (n) => (n === 1 ? "1 time free" : `${n} times free`),
      noDates: (days) => `No free times in the next ${days} days.`,
      dayFull: "This day is fully booked.",
      zoneNote: (visitor, place) =>
        `Times are in your time zone (${visitor}); the location's time (${place}) is shown beside each.`,
      atLocation: (time) => `${time} at the location`,
      yourDetails: "Your details",
      name: "Name",
      phone: "Phone",
      email: "Email",
      optional: "optional",
      phoneHint: "International format, for example",
      hold: "Hold",
      holding: "Holding this time…",
      pending: "Your request is queued; waiting for the answer…",
      stillPending: "No answer yet: your request is still being processed.",
      checkAgain: "Check again",
      held: "This time is held for you",
      timeLeft: "Time left to confirm",
      minuteLeft: "One minute left to confirm.",
      confirm: "Confirm",
      confirming: "Confirming…",
      release: "Release this time",
      released: "The time was released.",
      expiredTitle: "Hold expired",
      expired: "Your hold expired and the time was released. Choose a time again.",
      chooseAgain: "Choose another time",
      confirmed: "Booking confirmed",
      manage: "Manage your booking",
      manageLater: "Keep this link to view, reschedule or cancel your booking.",
      addToCalendar: "Add to calendar",
      bookAnother: "Book another time",
      when: "When",
      who: "Name",
      waitlistOffer:
        "Join the waitlist: if a time frees up on this day, it is held for you and you are told.",
      waitlistAny: "Join the waitlist for a date, and a time that frees up is held for you.",
      joinWaitlist: "Join the waitlist",
      date: "Date",
      waitlisted: (position) => `You are on the waitlist, position ${position}.`,
      enterName: "Enter your name.",
      enterPhone: "Enter your phone number.",
      enterDate: "Choose a date.",
      fixFields: "Please correct the highlighted fields.",
      slotFull: "Someone else just took that time. Here are the times still free.",
      slotUnavailable: "That time is no longer available. Here are the times still free.",
      notOffered: "That time is not offered to you any more. Here are the times still free.",
      tooManyHolds: "You already hold as many times as allowed. Confirm or release one first.",
      tooLate: "That time starts too soon to book online.",
      tooEarly: "That time is too far ahead to book yet.",
      duplicate: "You already have a booking for this time with this phone number.",
      rateLimited: (s) => `Too many requests. Please wait ${s} seconds and try again.`,
      network: "Could not reach the booking service. Check your connection and try again.",
      unavailable: "The booking service is unavailable right now. Please try again shortly.",
      invalidState: "This booking can no longer be changed that way.",
      notFound: "Not found.",
      waitlistUnavailable: "The waitlist is not available.",
      generic: "Something went wrong.",
      retry: "Try again",
      apiSays: (message, code) => `The service said: ${message} (${code})`,
      // <gs-manage>
      manageTitle: "Your booking",
      manageMissing: "This booking could not be loaded. The link may have expired.",
      status: "Status",
      statuses: {
        held: "Held, not yet confirmed",
        confirmed: "Confirmed",
        cancelled: "Cancelled",
        expired: "Expired",
        pending: "Being processed",
      },
      cancelBooking: "Cancel booking",
      cancelAsk: "Cancel this booking? Its time is given to someone else.",
      cancelYes: "Yes, cancel it",
      cancelNo: "Keep it",
      cancelled: "Booking cancelled",
      reschedule: "Reschedule",
      moveTo: (time) => `Move to ${time}`,
      moved: "Booking moved",
      close: "Close",
    },
    ar: {
      title: "احجز موعدًا",
      loading: "جارٍ التحميل…",
      chooseDate: "اختر تاريخًا",
      chooseTime: "اختر وقتًا",
      timesFree: (n) => (n === 1 ? "وقت واحد متاح" : `${n} أوقات متاحة`),
      noDates: (days) => `لا توجد أوقات متاحة خلال الأيام الـ${days} القادمة.`,
      dayFull: "هذا اليوم محجوز بالكامل.",
      zoneNote: (visitor, place) =>
        `الأوقات بتوقيتك المحلي (${visitor})، ويظهر بجانب كل وقت توقيت الموقع (${place}).`,
      atLocation: (time) => `${time} بتوقيت الموقع`,
      yourDetails: "بياناتك",
      name: "الاسم",
      phone: "الهاتف",
      email: "البريد الإلكتروني",
      optional: "اختياري",
      phoneHint: "بالصيغة الدولية، مثل",
      hold: "احجز مؤقتًا",
      holding: "جارٍ حجز هذا الوقت…",
      pending: "طلبك في قائمة الانتظار؛ بانتظار الرد…",
      stillPending: "لم يصل رد بعد: ما زال طلبك قيد المعالجة.",
      checkAgain: "تحقق مرة أخرى",
      held: "هذا الوقت محجوز لك مؤقتًا",
      timeLeft: "الوقت المتبقي للتأكيد",
      minuteLeft: "بقيت دقيقة واحدة للتأكيد.",
      confirm: "تأكيد",
      confirming: "جارٍ التأكيد…",
      release: "إلغاء الحجز المؤقت",
      released: "تم إلغاء الحجز المؤقت.",
      expiredTitle: "انتهى الحجز المؤقت",
      expired: "انتهت مدة حجزك المؤقت وأصبح الوقت متاحًا لغيرك. اختر وقتًا من جديد.",
      chooseAgain: "اختر وقتًا آخر",
      confirmed: "تم تأكيد الحجز",
      manage: "إدارة حجزك",
      manageLater: "احتفظ بهذا الرابط لعرض حجزك أو تغيير موعده أو إلغائه.",
      addToCalendar: "أضف إلى التقويم",
      bookAnother: "احجز وقتًا آخر",
      when: "الموعد",
      who: "الاسم",
      waitlistOffer: "انضم إلى قائمة الانتظار: إذا توفر وقت في هذا اليوم يُحجز لك ونُعلمك.",
      waitlistAny: "انضم إلى قائمة الانتظار لتاريخ ما، وأي وقت يتوفر يُحجز لك.",
      joinWaitlist: "انضم إلى قائمة الانتظار",
      date: "التاريخ",
      waitlisted: (position) => `أنت في قائمة الانتظار، ترتيبك ${position}.`,
      enterName: "أدخل اسمك.",
      enterPhone: "أدخل رقم هاتفك.",
      enterDate: "اختر تاريخًا.",
      fixFields: "يرجى تصحيح الحقول المحددة.",
      slotFull: "حجز شخص آخر هذا الوقت للتو. هذه الأوقات التي ما زالت متاحة.",
      slotUnavailable: "هذا الوقت لم يعد متاحًا. هذه الأوقات التي ما زالت متاحة.",
      notOffered: "هذا الوقت لم يعد معروضًا لك. هذه الأوقات التي ما زالت متاحة.",
      tooManyHolds: "لديك الحد الأقصى من الحجوزات المؤقتة. أكّد أحدها أو ألغه أولًا.",
      tooLate: "هذا الوقت قريب جدًا ولا يمكن حجزه عبر الإنترنت.",
      tooEarly: "هذا الوقت بعيد جدًا ولا يمكن حجزه بعد.",
      duplicate: "لديك حجز لهذا الوقت برقم الهاتف نفسه.",
      rateLimited: (s) => `طلبات كثيرة جدًا. انتظر ${s} ثانية ثم حاول مرة أخرى.`,
      network: "تعذر الوصول إلى خدمة الحجز. تحقق من اتصالك وحاول مرة أخرى.",
      unavailable: "خدمة الحجز غير متاحة حاليًا. حاول مرة أخرى بعد قليل.",
      invalidState: "لم يعد من الممكن تغيير هذا الحجز بهذه الطريقة.",
      notFound: "غير موجود.",
      waitlistUnavailable: "قائمة الانتظار غير متاحة.",
      generic: "حدث خطأ ما.",
      retry: "حاول مرة أخرى",
      apiSays: (message, code) => `رد الخدمة: ${message} (${code})`,
      manageTitle: "حجزك",
      manageMissing: "تعذر تحميل هذا الحجز. ربما انتهت صلاحية الرابط.",
      status: "الحالة",
      statuses: {
        held: "محجوز مؤقتًا، لم يُؤكد بعد",
        confirmed: "مؤكد",
        cancelled: "ملغى",
        expired: "منتهي",
        pending: "قيد المعالجة",
      },
      cancelBooking: "إلغاء الحجز",
      cancelAsk: "هل تريد إلغاء هذا الحجز؟ سيُعطى وقته لشخص آخر.",
      cancelYes: "نعم، ألغِه",
      cancelNo: "أبقِه",
      cancelled: "تم إلغاء الحجز",
      reschedule: "تغيير الموعد",
      moveTo: (time) => `انقل إلى ${time}`,
      moved: "تم نقل الحجز",
      close: "إغلاق",
    },
  };

  const DATE_SPAN_DAYS = 30;
  /** Refusals that mean the times shown are stale: the list is loaded again. */
  const STALE = ["SLOT_FULL", "SLOT_UNAVAILABLE", "SLOT_NOT_OFFERED", "TOO_LATE", "TOO_EARLY"];
  const POLL_DELAYS_MS = [250, 500, 1000, 1000, 2000, 2000, 2000, 3000, 3000, 5000, 5000, 5000];

  const STYLE = `
    :host { all: initial; display: block; contain: content; }
    :host([hidden]) { display: none; }
    *, *::before, *::after { box-sizing: border-box; }
    /* Inherited properties are set here, not on :host, which host rules marked !important win. */
    .panel { color: var(--gs-text, #1d2433); font-size: 16px; line-height: 1.5;
      font-family: var(--gs-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
      font-weight: 400; font-style: normal; letter-spacing: normal; text-align: start;
      text-transform: none; visibility: visible; background: var(--gs-background, #ffffff);
      border: 1px solid var(--gs-border, #c9ced6); border-radius: var(--gs-radius, 12px);
      padding: 1rem; max-width: 40rem; min-width: 0; }
    h2 { font-size: 1.25rem; margin: 0 0 .75rem; }
    h3 { font-size: 1.05rem; margin: 1.25rem 0 .5rem; }
    h2:focus, h3:focus { outline: none; }
    p { margin: .5rem 0; }
    ul.grid { display: grid; gap: .5rem; list-style: none; padding: 0; margin: 0;
      grid-template-columns: repeat(auto-fill, minmax(5.25rem, 1fr)); }
    button, .button { font: inherit; min-height: 44px; padding: .5rem .75rem; cursor: pointer;
      border-radius: calc(var(--gs-radius, 12px) / 2); border: 1px solid var(--gs-border, #c9ced6);
      background: var(--gs-surface, #f4f6f9); color: var(--gs-text, #1d2433); width: 100%;
      display: inline-flex; flex-direction: column; align-items: center; justify-content: center;
      text-decoration: none; text-align: center; }
    button:hover { border-color: var(--gs-accent, #0b5cad); }
    button[aria-pressed="true"], .primary { background: var(--gs-accent, #0b5cad);
      color: var(--gs-accent-text, #ffffff); border-color: var(--gs-accent, #0b5cad); }
    .primary { font-weight: 600; }
    .actions { display: flex; flex-wrap: wrap; gap: .5rem; margin-top: 1rem; }
    .actions > * { width: auto; flex: 1 1 10rem; }
    button:disabled { opacity: .6; cursor: not-allowed; }
    :focus-visible { outline: 3px solid var(--gs-focus, #b45309); outline-offset: 2px; }
    .day { font-size: .8rem; }
    .num { font-size: 1.25rem; font-weight: 700; line-height: 1.2; }
    .small { font-size: .8rem; color: inherit; opacity: .95; }
    .time { font-weight: 700; font-variant-numeric: tabular-nums; }
    .field { margin: .75rem 0; }
    label { display: block; font-weight: 600; margin-bottom: .25rem; }
    label .opt { font-weight: 400; color: var(--gs-muted, #4b5563); }
    input { font: inherit; width: 100%; min-height: 44px; padding: .5rem .625rem;
      border: 1px solid var(--gs-input-border, #6b7280); border-radius: calc(var(--gs-radius, 12px) / 2);
      background: var(--gs-background, #ffffff); color: var(--gs-text, #1d2433); }
    input[aria-invalid="true"] { border-color: var(--gs-error, #b42318); border-width: 2px; }
    .hint { color: var(--gs-muted, #4b5563); font-size: .875rem; margin: .25rem 0 0; }
    .field-error { color: var(--gs-error, #b42318); font-size: .875rem; margin: .25rem 0 0; }
    .alert { color: var(--gs-error, #b42318); background: var(--gs-error-background, #fdecea);
      border-inline-start: 4px solid var(--gs-error, #b42318); padding: .5rem .75rem;
      border-radius: 4px; margin: 0 0 .75rem; }
    .alert p { margin: .25rem 0; }
    .alert[hidden] { display: none; }
    .status:empty { margin: 0; }
    .status { color: var(--gs-muted, #4b5563); }
    .note { color: var(--gs-muted, #4b5563); font-size: .875rem; }
    .timer { font-size: 2rem; font-weight: 700; font-variant-numeric: tabular-nums; margin: 0; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: .5rem 0; }
    dt { font-weight: 600; }
    dd { margin: 0; }
    a { color: var(--gs-link, #0b5cad); }
    .ltr { direction: ltr; unicode-bidi: isolate; }
  `;

  let sharedSheet = null;

  function adoptStyle(root) {
    if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function") {
      try {
        if (!sharedSheet) {
          sharedSheet = new CSSStyleSheet();
          sharedSheet.replaceSync(STYLE);
        }
        root.adoptedStyleSheets = [sharedSheet];
        return;
      } catch (_) {
        // Constructable stylesheets unsupported: fall back to a <style> element.
      }
    }
    root.append(h("style", {}, STYLE));
  }

  /** Builds an element; children are nodes or strings (never parsed as HTML). */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "hidden" || key === "disabled" || key === "required") node[key] = true;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  /** Replaces a node's children, skipping absent ones (null, undefined, false). */
  function fill(node, ...children) {
    node.replaceChildren(
      ...children.flat().filter((c) => c !== null && c !== undefined && c !== false),
    );
  }

  // ---- The API -----------------------------------------------------------------------------

  /** A refusal from the API (its error envelope), or a network failure (status 0). */
  class Problem extends Error {
    constructor(status, code, message, details, retryAfter) {
      super(message);
      this.status = status;
      this.code = code;
      this.details = details || {};
      this.retryAfter = retryAfter;
    }
  }

  function newKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  class Api {
    constructor(base) {
      this.base = (base || "").replace(/\/+$/, "");
      this.token = null;
    }

    url(path, query) {
      const url = new URL(this.base + path, document.baseURI);
      for (const [key, value] of Object.entries(query || {})) {
        if (value) url.searchParams.set(key, value);
      }
      return url.toString();
    }

    async openSession() {
      const reply = await this.send("POST", "/v1/sessions", { auth: false });
      this.token = reply.body.session_token;
    }

    /** Sends one request; resolves to {status, body} for 2xx, rejects with a Problem. */
    async send(method, path, { query, body, key, auth = true, renewed = false } = {}) {
      if (auth && !this.token) await this.openSession();
      const headers = {};
      if (auth) headers.Authorization = `Bearer ${this.token}`;
      if (key) headers["Idempotency-Key"] = key;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      let response;
      try {
        response = await fetch(this.url(path, query), {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          credentials: "omit",
          cache: "no-store",
        });
      } catch (_) {
        throw new Problem(0, "NETWORK", "network failure");
      }
      let data = null;
      try {
        data = await response.json();
      } catch (_) {
        data = null;
      }
      if (response.ok) return { status: response.status, body: data || {} };
      const error = (data && data.error) || {};
      if (response.status === 401 && auth && !renewed) {
        // The visitor's session token expired: a new session, and the same request again.
        this.token = null;
        return this.send(method, path, { query, body, key, auth, renewed: true });
      }
      throw new Problem(
        response.status,
        error.code || `HTTP_${response.status}`,
        error.message || response.statusText || "error",
        error.details,
        Number(response.headers.get("Retry-After")) || null,
      );
    }
  }

  // ---- Dates and times ---------------------------------------------------------------------

  function visitorZone() {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
    } catch (_) {
      return null;
    }
  }

  /** HH:MM on a 24-hour clock with Latin digits, in `zone` (the contract's accessible names). */
  function clock(instant, zone) {
    const parts = new Intl.DateTimeFormat("en-GB", {
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
      timeZone: zone,
    }).formatToParts(new Date(instant));
    const part = (type) => parts.find((p) => p.type === type).value;
    return `${part("hour")}:${part("minute")}`;
  }

  function locale(lang) {
    return lang === "ar" ? "ar-u-nu-latn" : "en-GB";
  }

  /** A `YYYY-MM-DD` calendar date, formatted without any time zone shifting it. */
  function calendarDate(date, lang, options) {
    const [y, m, d] = date.split("-").map(Number);
    const noon = new Date(Date.UTC(y, m - 1, d, 12));
    return new Intl.DateTimeFormat(locale(lang), { ...options, timeZone: "UTC" }).format(noon);
  }

  function instantDate(instant, zone, lang) {
    return new Intl.DateTimeFormat(locale(lang), {
      weekday: "long",
      day: "numeric",
      month: "long",
      year: "numeric",
      timeZone: zone,
    }).format(new Date(instant));
  }

  /** The wall-clock HH:MM written in an RFC 3339 instant, i.e. in the zone it was rendered in. */
  function writtenClock(instant) {
    return instant.slice(11, 16);
  }

  function countdown(ms) {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const minutes = Math.floor(total / 60);
    return `${minutes}:${String(total % 60).padStart(2, "0")}`;
  }

  // ---- Shared element behaviour --------------------------------------------------------------

  class WidgetElement extends HTMLElement {
    constructor() {
      super();
      this.attachShadow({ mode: "open" });
      adoptStyle(this.shadowRoot);
      this.timers = new Set();
    }

    get language() {
      return this.getAttribute("lang") === "ar" ? "ar" : "en";
    }

    get t() {
      return TEXT[this.language];
    }

    static get observedAttributes() {
      return ["api", "location", "person", "token", "lang"];
    }

    /** A changed attribute (another location, say) starts the element afresh. */
    attributeChangedCallback(name, before, after) {
      if (!this.panel || before === after) return;
      this.disconnectedCallback();
      this.panel.remove();
      this.panel = null;
      this.connectedCallback();
    }

    connectedCallback() {
      if (this.panel) return;
      this.api = new Api(this.getAttribute("api") || "");
      this.alert = h("div", { class: "alert", role: "alert", hidden: true });
      this.status = h("p", { class: "status", role: "status" });
      this.body = h("div", {});
      this.heading = h("h2", { tabindex: "-1" }, this.caption());
      this.panel = h(
        "section",
        { class: "panel", lang: this.language, dir: this.language === "ar" ? "rtl" : "ltr" },
        this.heading,
        this.alert,
        this.status,
        this.body,
      );
      this.panel.setAttribute("aria-labelledby", "gs-title");
      this.heading.id = "gs-title";
      this.shadowRoot.append(this.panel);
      this.start();
    }

    disconnectedCallback() {
      for (const timer of this.timers) clearTimeout(timer);
      this.timers.clear();
      clearInterval(this.ticker);
    }

    later(ms) {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, ms);
        this.timers.add(timer);
      });
    }

    say(text) {
      this.status.textContent = text || "";
    }

    clearError() {
      this.alert.hidden = true;
      fill(this.alert);
    }

    showError(lines) {
      fill(this.alert, ...lines.filter(Boolean).map((line) => h("p", {}, line)));
      this.alert.hidden = false;
    }

    /** Words for a Problem: what happened, and what the API said when it is not obvious. */
    explain(problem) {
      const t = this.t;
      const known = {
        SLOT_FULL: t.slotFull,
        SLOT_UNAVAILABLE: t.slotUnavailable,
        SLOT_NOT_OFFERED: t.notOffered,
        TOO_MANY_HOLDS: t.tooManyHolds,
        TOO_LATE: t.tooLate,
        TOO_EARLY: t.tooEarly,
        DUPLICATE_BOOKING: t.duplicate,
        HOLD_EXPIRED: t.expired,
        NETWORK: t.network,
        UNAVAILABLE: t.unavailable,
      };
      if (problem.code === "RATE_LIMITED") return [t.rateLimited(problem.retryAfter || 60)];
      if (known[problem.code]) return [known[problem.code]];
      const lead =
        problem.code === "INVALID_STATE"
          ? t.invalidState
          : problem.status === 404
            ? t.notFound
            : problem.status >= 500
              ? t.unavailable
              : t.generic;
      return [lead, t.apiSays(problem.message, problem.code)];
    }

    fail(problem, lead) {
      if (!(problem instanceof Problem)) throw problem;
      const lines = this.explain(problem);
      this.say("");
      // A generic first line (and the API's own words after it) gives way to the caller's lead.
      this.showError(lead && lines.length === 2 ? [lead, lines[1]] : [lead, ...lines]);
    }

    focusOn(node) {
      if (node) requestAnimationFrame(() => node.focus());
    }

    /** Dates with availability, counted in the visitor's zone when the API accepts it. */
    async loadDates(location, person) {
      const query = { location_id: location, person_id: person };
      let reply = await this.api.send("GET", "/v1/dates", { query });
      this.placeZone = reply.body.timezone;
      this.zone = this.placeZone;
      const visitor = visitorZone();
      if (visitor && visitor !== this.placeZone) {
        try {
          reply = await this.api.send("GET", "/v1/dates", {
            query: { ...query, timezone: visitor },
          });
          this.zone = visitor;
        } catch (problem) {
          if (!(problem instanceof Problem) || problem.status !== 422) throw problem;
        }
      }
      return reply.body.dates.filter((d) => d.available > 0);
    }

    async loadSlots(location, person, date) {
      const query = { location_id: location, person_id: person, date, timezone: this.zone };
      const reply = await this.api.send("GET", "/v1/slots", { query });
      return reply.body.slots;
    }

    /**
     * Waits out a 202: polls the booking until its status is no longer one of `waiting`
     * (a refused hold answers the poll with its 409, thrown as a Problem); null if the
     * workers have not answered after about half a minute.
     */
    async poll(id, waiting) {
      for (const delay of POLL_DELAYS_MS) {
        await this.later(delay);
        const reply = await this.api.send("GET", `/v1/bookings/${encodeURIComponent(id)}`);
        const booking = reply.body.booking;
        if (booking && !waiting.includes(booking.status)) return reply;
      }
      return null;
    }

    dateButtons(dates, selected, onPick) {
      return h(
        "ul",
        { class: "grid", role: "list" },
        dates.map((d) =>
          h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                "aria-pressed": String(d.date === selected),
                "aria-label": `${calendarDate(d.date, this.language, {
                  weekday: "long",
                  day: "numeric",
                  month: "long",
                })}, ${this.t.timesFree(d.available)}`,
                "data-date": d.date,
                onclick: () => onPick(d.date),
              },
              h(
                "span",
                { class: "day" },
                calendarDate(d.date, this.language, { weekday: "short" }),
              ),
              h("span", { class: "num" }, calendarDate(d.date, this.language, { day: "numeric" })),
              h("span", { class: "day" }, calendarDate(d.date, this.language, { month: "short" })),
            ),
          ),
        ),
      );
    }

    slotButtons(slots, selected, onPick) {
      const differs = this.zone !== this.placeZone;
      return h(
        "ul",
        { class: "grid", role: "list" },
        slots.map((slot) => {
          const time = clock(slot.start_at, this.zone);
          const there = differs ? this.t.atLocation(clock(slot.start_at, this.placeZone)) : null;
          return h(
            "li",
            {},
            h(
              "button",
              {
                type: "button",
                "aria-pressed": String(slot.id === selected),
                "aria-label": there ? `${time}, ${there}` : time,
                "data-slot": slot.id,
                onclick: () => onPick(slot),
              },
              h("span", { class: "time ltr" }, time),
              there && h("span", { class: "small" }, there),
            ),
          );
        }),
      );
    }

    zoneNote() {
      if (this.zone === this.placeZone) return null;
      return h("p", { class: "note" }, this.t.zoneNote(this.zone, this.placeZone));
    }

    /** "Tuesday 5 December 2026, 09:00" in the shown zone, and the location's own time. */
    when(booking) {
      const zone = this.zone || visitorZone() || "UTC";
      const time = clock(booking.start_at, zone);
      const here = `${instantDate(booking.start_at, zone, this.language)}, ${time}`;
      const local = writtenClock(booking.start_at);
      return local === time ? here : `${here} (${this.t.atLocation(local)})`;
    }

    manageLinks(token) {
      if (!token) return null;
      const page = this.api.url(`/manage/${encodeURIComponent(token)}`);
      const ics = this.api.url(`/v1/manage/${encodeURIComponent(token)}/ics`);
      return h(
        "div",
        {},
        h("p", {}, h("a", { href: page, target: "_blank", rel: "noopener" }, this.t.manage)),
        h("p", { class: "note" }, this.t.manageLater),
        h("p", {}, h("a", { href: ics, download: "booking.ics" }, this.t.addToCalendar)),
      );
    }
  }

  // ---- <gs-booking> ------------------------------------------------------------------------

  class BookingElement extends WidgetElement {
    caption() {
      return this.t.title;
    }

    get location() {
      return this.getAttribute("location") || "";
    }

    get person() {
      return this.getAttribute("person") || "";
    }

    start() {
      this.customer = { name: "", phone: "", email: "" };
      this.showDates();
    }

    // Choosing: dates, then a day's times, then the form.

    async showDates(lead) {
      clearInterval(this.ticker);
      this.date = null;
      this.chosen = null;
      this.say(this.t.loading);
      fill(this.body);
      try {
        this.dates = await this.loadDates(this.location, this.person);
      } catch (problem) {
        this.fail(problem);
        fill(this.body, h("button", { type: "button", onclick: () => this.retry() }, this.t.retry));
        return;
      }
      this.say("");
      if (lead) this.showError([lead]);
      this.datesPart = h("div", {});
      this.slotsPart = h("div", {});
      this.formPart = h("div", {});
      fill(this.body, this.datesPart, this.slotsPart, this.formPart);
      this.renderDates();
    }

    retry() {
      this.clearError();
      this.showDates();
    }

    renderDates() {
      const t = this.t;
      if (this.dates.length === 0) {
        fill(
          this.datesPart,
          h("p", {}, t.noDates(DATE_SPAN_DAYS)),
          h("p", {}, t.waitlistAny),
          h("button", { type: "button", onclick: () => this.renderWaitlist(null) }, t.joinWaitlist),
        );
        return;
      }
      fill(
        this.datesPart,
        h("h3", { id: "dates-title" }, t.chooseDate),
        this.dateButtons(this.dates, this.date, (date) => this.pickDate(date)),
      );
    }

    async pickDate(date, lead) {
      this.clearError();
      this.date = date;
      this.chosen = null;
      this.renderDates();
      const pressed = this.datesPart.querySelector(`[data-date="${date}"]`);
      if (pressed) pressed.focus();
      fill(this.formPart);
      fill(this.slotsPart);
      this.say(this.t.loading);
      try {
        this.slots = await this.loadSlots(this.location, this.person, date);
      } catch (problem) {
        this.fail(problem);
        return;
      }
      if (this.date !== date) return; // another date was chosen meanwhile
      this.say("");
      if (lead) this.showError([lead]);
      this.renderSlots();
    }

    renderSlots() {
      const t = this.t;
      const title = h("h3", { id: "slots-title", tabindex: "-1" }, t.chooseTime);
      if (this.slots.length === 0) {
        fill(
          this.slotsPart,
          title,
          h("p", {}, t.dayFull),
          h("p", {}, t.waitlistOffer),
          h(
            "button",
            { type: "button", onclick: () => this.renderWaitlist(this.date) },
            t.joinWaitlist,
          ),
        );
        return;
      }
      fill(
        this.slotsPart,
        title,
        this.zoneNote(),
        this.slotButtons(this.slots, this.chosen && this.chosen.id, (slot) => this.pickSlot(slot)),
      );
    }

    pickSlot(slot) {
      this.clearError();
      this.chosen = slot;
      this.renderSlots();
      const pressed = this.slotsPart.querySelector(`[data-slot="${slot.id}"]`);
      if (pressed) pressed.focus();
      this.renderForm(
        (t) => t.hold,
        (button) => this.hold(button),
      );
    }

    /** Name, Phone, Email and one submit button; the values survive re-rendering. */
    renderForm(label, onSubmit, extra) {
      const t = this.t;
      const field = (id, text, attrs, hint) => {
        const described = [hint && `${id}-hint`, `${id}-error`].filter(Boolean).join(" ");
        return h(
          "div",
          { class: "field" },
          h(
            "label",
            { for: id },
            text,
            attrs.required ? "" : h("span", { class: "opt" }, ` (${t.optional})`),
          ),
          h("input", {
            id,
            name: id,
            value: this.customer[id],
            "aria-describedby": described,
            oninput: (event) => {
              this.customer[id] = event.target.value;
            },
            ...attrs,
          }),
          hint && h("p", { class: "hint", id: `${id}-hint` }, hint),
          h("p", { class: "field-error", id: `${id}-error` }),
        );
      };
      const submit = h("button", { type: "submit", class: "primary" }, label(t));
      this.form = h(
        "form",
        {
          novalidate: true,
          "aria-labelledby": "details-title",
          onsubmit: (event) => {
            event.preventDefault();
            if (this.checkForm()) onSubmit(submit);
          },
        },
        h("h3", { id: "details-title" }, t.yourDetails),
        extra,
        field("name", t.name, {
          type: "text",
          autocomplete: "name",
          required: true,
          "aria-required": "true",
        }),
        field(
          "phone",
          t.phone,
          {
            type: "tel",
            autocomplete: "tel",
            inputmode: "tel",
            dir: "ltr",
            required: true,
            "aria-required": "true",
          },
          [t.phoneHint, " ", h("span", { class: "ltr", dir: "ltr" }, "+971501234567")],
        ),
        field("email", t.email, { type: "email", autocomplete: "email", dir: "ltr" }),
        h("div", { class: "actions" }, submit),
      );
      fill(this.formPart, this.form);
    }

    setFieldError(id, message) {
      const input = this.form.querySelector(`#${id}`);
      const slot = this.form.querySelector(`#${id}-error`);
      if (!input || !slot) return false;
      slot.textContent = message || "";
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
      return true;
    }

    checkForm() {
      const t = this.t;
      const missing = [];
      for (const id of ["name", "phone", "email", "date"]) this.setFieldError(id, "");
      if (!this.customer.name.trim()) missing.push(["name", t.enterName]);
      if (!this.customer.phone.trim()) missing.push(["phone", t.enterPhone]);
      const date = this.form.querySelector("#date");
      if (date && !date.value) missing.push(["date", t.enterDate]);
      for (const [id, message] of missing) this.setFieldError(id, message);
      if (missing.length) {
        this.showError([t.fixFields]);
        this.form.querySelector(`#${missing[0][0]}`).focus();
        return false;
      }
      this.clearError();
      return true;
    }

    /** The 422's `details.fields` placed under their inputs (e.g. the phone's format). */
    showFieldErrors(problem) {
      const fields = (problem.details && problem.details.fields) || [];
      let first = null;
      const rest = [];
      for (const item of fields) {
        const id = String(item.field || "").replace(/^customer\./, "");
        const message = String(item.message || "").replace(/^Value error, /, "");
        if (this.setFieldError(id, message)) first = first || id;
        else rest.push(`${item.field}: ${message}`);
      }
      this.showError([this.t.fixFields, ...rest]);
      if (first) this.form.querySelector(`#${first}`).focus();
    }

    payload() {
      const customer = { name: this.customer.name.trim(), phone: this.customer.phone.trim() };
      if (this.customer.email.trim()) customer.email = this.customer.email.trim();
      return customer;
    }

    /** The same key for the same request, so a retry after a network failure is a replay. */
    keyFor(request) {
      const text = JSON.stringify(request);
      if (!this.lastRequest || this.lastRequest.text !== text) {
        this.lastRequest = { text, key: newKey() };
      }
      return this.lastRequest.key;
    }

    // Holding, confirming.

    async hold(button) {
      const body = { slot_id: this.chosen.id, customer: this.payload() };
      const key = this.keyFor(["hold", body]);
      const sentAt = Date.now();
      button.disabled = true;
      this.say(this.t.holding);
      let reply;
      try {
        reply = await this.api.send("POST", "/v1/bookings", { body, key });
        if (reply.status === 202) {
          this.say(this.t.pending);
          reply = await this.poll(reply.body.booking.id, ["pending"]);
          if (reply === null) return this.stillPending(button);
        }
      } catch (problem) {
        button.disabled = false;
        this.say("");
        return this.holdRefused(problem);
      }
      this.say("");
      this.showHeld(reply.body.booking, sentAt);
    }

    stillPending(button) {
      this.say("");
      this.showError([this.t.stillPending]);
      button.disabled = false;
      button.textContent = this.t.checkAgain;
    }

    holdRefused(problem) {
      if (!(problem instanceof Problem)) throw problem;
      if (STALE.includes(problem.code)) {
        // What the visitor saw is stale: show the day's times as they are now.
        this.focusOn(this.slotsPart.querySelector("h3"));
        fill(this.formPart);
        return this.pickDate(this.date, this.explain(problem)[0]).then(() =>
          this.focusOn(this.slotsPart.querySelector("h3")),
        );
      }
      if (problem.code === "VALIDATION_ERROR") return this.showFieldErrors(problem);
      this.fail(problem);
    }

    showHeld(booking, sentAt) {
      const t = this.t;
      this.booking = booking;
      this.manageToken = booking.manage_token || null;
      const started = Date.parse(booking.created_at || "") || sentAt;
      const lasts = Date.parse(booking.hold_expires_at) - started;
      // Counted from when the request left: never more time than the hold really has,
      // whatever the visitor's clock says.
      this.deadline = sentAt + lasts;
      this.warned = false;
      const timer = h("p", { class: "timer ltr", id: "timer", role: "timer", "aria-live": "off" });
      const confirm = h(
        "button",
        { type: "button", class: "primary", onclick: () => this.confirm(confirm) },
        t.confirm,
      );
      const heading = h("h3", { tabindex: "-1" }, t.held);
      fill(
        this.body,
        heading,
        h(
          "dl",
          {},
          h("dt", {}, t.when),
          h("dd", {}, this.when(booking)),
          h("dt", {}, t.who),
          h("dd", {}, booking.customer ? booking.customer.name : ""),
        ),
        h("p", { id: "timer-label" }, t.timeLeft),
        timer,
        h(
          "div",
          { class: "actions" },
          confirm,
          h("button", { type: "button", onclick: (e) => this.release(e.target) }, t.release),
        ),
      );
      timer.setAttribute("aria-labelledby", "timer-label");
      this.tick(timer);
      this.ticker = setInterval(() => this.tick(timer), 250);
      this.focusOn(heading);
    }

    tick(timer) {
      const left = this.deadline - Date.now();
      timer.textContent = countdown(left);
      if (left <= 60000 && !this.warned && left > 0) {
        this.warned = true;
        this.say(this.t.minuteLeft);
      }
      if (left <= 0) this.showExpired();
    }

    showExpired() {
      clearInterval(this.ticker);
      const t = this.t;
      const heading = h("h3", { tabindex: "-1" }, t.expiredTitle);
      this.say("");
      this.clearError();
      fill(
        this.body,
        heading,
        h("p", {}, t.expired),
        h(
          "div",
          { class: "actions" },
          h(
            "button",
            { type: "button", class: "primary", onclick: () => this.chooseAgain() },
            t.chooseAgain,
          ),
        ),
      );
      this.focusOn(heading);
    }

    async chooseAgain(lead) {
      this.clearError();
      const date = this.date;
      await this.showDates(lead);
      if (date && this.dates.some((d) => d.date === date)) await this.pickDate(date, lead);
      this.focusOn(
        this.shadowRoot.querySelector("#slots-title") ||
          this.shadowRoot.querySelector("#dates-title"),
      );
    }

    async confirm(button) {
      const id = this.booking.id;
      button.disabled = true;
      this.say(this.t.confirming);
      let reply;
      try {
        reply = await this.api.send("POST", `/v1/bookings/${encodeURIComponent(id)}/confirm`, {
          key: this.keyFor(["confirm", id]),
        });
        if (reply.status === 202) {
          this.say(this.t.pending);
          reply = await this.poll(id, ["pending", "held"]);
          if (reply === null) return this.stillPending(button);
        }
      } catch (problem) {
        button.disabled = false;
        if (problem instanceof Problem && problem.code === "HOLD_EXPIRED")
          return this.showExpired();
        return this.fail(problem);
      }
      const booking = reply.body.booking;
      if (booking.status === "expired") return this.showExpired();
      if (booking.status !== "confirmed") {
        button.disabled = false;
        return this.showError([
          this.t.invalidState,
          this.t.statuses[booking.status] || booking.status,
        ]);
      }
      this.showConfirmed(booking);
    }

    async release(button) {
      button.disabled = true;
      try {
        await this.api.send("POST", `/v1/bookings/${encodeURIComponent(this.booking.id)}/cancel`, {
          key: this.keyFor(["cancel", this.booking.id]),
        });
      } catch (problem) {
        button.disabled = false;
        return this.fail(problem);
      }
      clearInterval(this.ticker);
      await this.chooseAgain();
      this.say(this.t.released);
    }

    showConfirmed(booking) {
      clearInterval(this.ticker);
      const t = this.t;
      const heading = h("h3", { tabindex: "-1" }, t.confirmed);
      this.say("");
      this.clearError();
      fill(
        this.body,
        heading,
        h(
          "dl",
          {},
          h("dt", {}, t.when),
          h("dd", {}, this.when(booking)),
          h("dt", {}, t.who),
          h("dd", {}, booking.customer ? booking.customer.name : ""),
        ),
        this.manageLinks(booking.manage_token || this.manageToken),
        h(
          "div",
          { class: "actions" },
          h("button", { type: "button", onclick: () => this.chooseAgain() }, t.bookAnother),
        ),
      );
      this.focusOn(heading);
    }

    // The waitlist, offered when a day is full (contract §10).

    renderWaitlist(date) {
      const t = this.t;
      const dateField = date
        ? null
        : h(
            "div",
            { class: "field" },
            h("label", { for: "date" }, t.date),
            h("input", {
              id: "date",
              name: "date",
              type: "date",
              "aria-describedby": "date-error",
            }),
            h("p", { class: "field-error", id: "date-error" }),
          );
      this.renderForm(
        (text) => text.joinWaitlist,
        (button) => this.joinWaitlist(button, date),
        dateField,
      );
      this.focusOn(this.form.querySelector("input"));
    }

    async joinWaitlist(button, date) {
      const day = date || this.form.querySelector("#date").value;
      const body = { location_id: this.location, date: day, customer: this.payload() };
      if (this.person) body.person_id = this.person;
      button.disabled = true;
      let reply;
      try {
        reply = await this.api.send("POST", "/v1/waitlist", {
          body,
          key: this.keyFor(["waitlist", body]),
        });
      } catch (problem) {
        button.disabled = false;
        if (problem instanceof Problem && problem.code === "VALIDATION_ERROR")
          return this.showFieldErrors(problem);
        return this.fail(problem, this.t.waitlistUnavailable);
      }
      const entry = reply.body.waitlist_entry || {};
      const heading = h("h3", { tabindex: "-1" }, this.t.waitlisted(entry.position));
      this.clearError();
      fill(
        this.body,
        heading,
        h(
          "p",
          {},
          calendarDate(day, this.language, { weekday: "long", day: "numeric", month: "long" }),
        ),
      );
      this.focusOn(heading);
    }
  }

  // ---- <gs-manage> -------------------------------------------------------------------------

  class ManageElement extends WidgetElement {
    caption() {
      return this.t.manageTitle;
    }

    get path() {
      return `/v1/manage/${encodeURIComponent(this.getAttribute("token") || "")}`;
    }

    async start() {
      this.say(this.t.loading);
      let reply;
      try {
        reply = await this.api.send("GET", this.path, { auth: false });
      } catch (problem) {
        return this.fail(problem, this.t.manageMissing);
      }
      this.say("");
      this.show(reply.body.booking);
    }

    show(booking, lead) {
      const t = this.t;
      this.booking = booking;
      this.zone = visitorZone() || "UTC";
      const live = booking.status === "held" || booking.status === "confirmed";
      const upcoming = Date.parse(booking.start_at) > Date.now();
      const heading = h(
        "h3",
        { tabindex: "-1" },
        lead || t.statuses[booking.status] || booking.status,
      );
      this.actions = h("div", { class: "actions" });
      this.extra = h("div", {});
      if (booking.status === "held") {
        this.actions.append(
          h(
            "button",
            { type: "button", class: "primary", onclick: (e) => this.change("confirm", e.target) },
            t.confirm,
          ),
        );
      }
      if (live && upcoming) {
        this.actions.append(
          h("button", { type: "button", onclick: () => this.reschedule() }, t.reschedule),
          h("button", { type: "button", onclick: () => this.askCancel() }, t.cancelBooking),
        );
      }
      fill(
        this.body,
        heading,
        h(
          "dl",
          {},
          h("dt", {}, t.when),
          h("dd", {}, this.when(booking)),
          h("dt", {}, t.status),
          h("dd", {}, t.statuses[booking.status] || booking.status),
          booking.customer && h("dt", {}, t.who),
          booking.customer && h("dd", {}, booking.customer.name),
        ),
        live &&
          h(
            "p",
            {},
            h(
              "a",
              { href: this.api.url(`${this.path}/ics`), download: "booking.ics" },
              t.addToCalendar,
            ),
          ),
        this.actions,
        this.extra,
      );
      if (lead) this.focusOn(heading);
    }

    askCancel() {
      const t = this.t;
      const no = h("button", { type: "button", onclick: () => fill(this.extra) }, t.cancelNo);
      fill(
        this.extra,
        h("p", { id: "cancel-ask" }, t.cancelAsk),
        h(
          "div",
          { class: "actions", role: "group", "aria-labelledby": "cancel-ask" },
          h(
            "button",
            { type: "button", class: "primary", onclick: (e) => this.change("cancel", e.target) },
            t.cancelYes,
          ),
          no,
        ),
      );
      this.focusOn(no);
    }

    async change(action, button, body) {
      const t = this.t;
      button.disabled = true;
      this.clearError();
      let reply;
      try {
        reply = await this.api.send("POST", `${this.path}/${action}`, {
          auth: false,
          body,
          key: newKey(),
        });
      } catch (problem) {
        button.disabled = false;
        const stale = problem instanceof Problem && STALE.includes(problem.code);
        // What the customer saw is stale: show the day's times as they are now.
        if (action === "reschedule" && stale) await this.pickDay(this.day);
        return this.fail(problem);
      }
      const lead = { cancel: t.cancelled, reschedule: t.moved, confirm: t.confirmed }[action];
      this.show(reply.body.booking, lead);
    }

    async reschedule() {
      const t = this.t;
      this.clearError();
      this.say(t.loading);
      let dates;
      try {
        dates = await this.loadDates(this.booking.location_id, this.booking.person_id);
      } catch (problem) {
        return this.fail(problem);
      }
      this.say("");
      const slotsPart = h("div", {});
      const pick = async (date) => {
        this.day = date;
        fill(moveBox);
        dateList
          .querySelectorAll("button")
          .forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.date === date)));
        let slots;
        try {
          slots = await this.loadSlots(this.booking.location_id, this.booking.person_id, date);
        } catch (problem) {
          return this.fail(problem);
        }
        fill(
          slotsPart,
          h("h3", {}, t.chooseTime),
          slots.length ? this.zoneNote() : h("p", {}, t.dayFull),
          this.slotButtons(slots, null, (slot) => {
            const move = h(
              "button",
              {
                type: "button",
                class: "primary",
                onclick: () => this.change("reschedule", move, { slot_id: slot.id }),
              },
              t.moveTo(clock(slot.start_at, this.zone)),
            );
            slotsPart
              .querySelectorAll("[data-slot]")
              .forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.slot === slot.id)));
            fill(moveBox, move);
            this.focusOn(move);
          }),
        );
      };
      const dateList = this.dateButtons(dates, null, pick);
      this.pickDay = pick;
      const moveBox = h("div", { class: "actions" });
      const heading = h("h3", { tabindex: "-1" }, t.chooseDate);
      fill(
        this.extra,
        heading,
        dates.length ? dateList : h("p", {}, t.noDates(DATE_SPAN_DAYS)),
        slotsPart,
        moveBox,
      );
      this.focusOn(heading);
    }
  }

  if (!customElements.get("gs-booking")) customElements.define("gs-booking", BookingElement);
  if (!customElements.get("gs-manage")) customElements.define("gs-manage", ManageElement);
})();
