"use strict";
/*
  What the board's pages share (index.html, cases.html, policy.html), loaded by each
  before its own inline script and served by the worker at /board.js
  (streams/http/web.py). The pages' Content-Security-Policy allows scripts from the
  worker itself ('self') and their one inline script by its hash.

  window.board holds: the vocabulary, DOM building (data as text only, never HTML),
  the access token and the API calls that send it, the remembered language and the
  page's static words, and dates in the reader's locale.
*/
window.board = (() => {
  // ---- the vocabulary ------------------------------------------------------------------
  // topics/vocabulary.py and its labels, a copy of the one table of words
  // (pipeline/alert_titles.py, WORDS), with the case board's statuses and verdicts
  // (topics/cases.py). tests/integration/test_board_e2e.py and test_cases_board.py
  // check it against them so they cannot drift apart. Alert titles and evidence come
  // on the alerts themselves, in both languages: the pages have no table of them.
  const VOCABULARY = {
    "counties": {"130102": "长安区", "130104": "桥西区", "130105": "新华区", "130107": "井陉矿区", "130108": "裕华区", "130109": "藁城区", "130110": "鹿泉区", "130111": "栾城区", "130121": "井陉县", "130123": "正定县", "130125": "行唐县", "130126": "灵寿县", "130127": "高邑县", "130128": "深泽县", "130129": "赞皇县", "130130": "无极县", "130131": "平山县", "130132": "元氏县", "130133": "赵县", "130171": "高新区", "130172": "循环化工园区", "130181": "辛集市", "130183": "晋州市", "130184": "新乐市"},
    "sectors": ["finance", "food_drug", "education", "environment", "construction", "production_safety", "elderly_childcare", "urban_operations", "other"],
    "severities": ["critical", "high", "medium", "low"],
    "kinds": ["rule", "anomaly", "iot", "cross-sector", "cross-region", "deadline", "list"],
    "tiers": ["A", "B", "C", "D"],
    "departments": ["market_regulation", "ecology_environment", "taxation", "court", "government_services", "housing_construction", "emergency_management", "education", "health", "financial_regulation", "industry_association", "superior_unit", "audit", "discipline_inspection", "organisation_personnel"],
    "enforcement_kinds": ["penalty", "licence_granted", "licence_suspended", "licence_revoked", "spot_check", "court_dishonest_debtor", "tax_violation", "abnormal_operation_listed", "abnormal_operation_removed", "commitment_made", "commitment_fulfilled", "commitment_breached", "rectification_ordered", "rectification_completed", "interview", "repair_applied", "repair_completed", "voluntary_registration", "honour", "objection_filed", "objection_decided", "decision_refused"],
    "counties_en": {"130102": "Chang'an District", "130104": "Qiaoxi District", "130105": "Xinhua District", "130107": "Jingxing Mining District", "130108": "Yuhua District", "130109": "Gaocheng District", "130110": "Luquan District", "130111": "Luancheng District", "130121": "Jingxing County", "130123": "Zhengding County", "130125": "Xingtang County", "130126": "Lingshou County", "130127": "Gaoyi County", "130128": "Shenze County", "130129": "Zanhuang County", "130130": "Wuji County", "130131": "Pingshan County", "130132": "Yuanshi County", "130133": "Zhao County", "130171": "High-tech Zone", "130172": "Circular Chemical Park", "130181": "Xinji City", "130183": "Jinzhou City", "130184": "Xinle City"},
    "case_status": {"new": ["新建", "new"], "investigating": ["调查中", "investigating"], "measures_taken": ["已采取措施", "measures taken"], "closed": ["已结案", "closed"]},
    "verdict": {"risk_confirmed": ["风险属实", "risk confirmed"], "false_positive": ["误报", "false positive"], "not_actionable": ["无需处置", "not actionable"]},
    "labels": {
      "sector": {"finance": ["金融", "finance"], "food_drug": ["食品药品", "food and drugs"], "education": ["教育", "education"], "environment": ["生态环境", "environment"], "construction": ["工程建设", "construction"], "production_safety": ["安全生产", "production safety"], "elderly_childcare": ["养老托育", "elderly and child care"], "urban_operations": ["城市运行", "urban operations"], "other": ["其他", "other sectors"]},
      "category": {"food_safety": ["食品安全", "food safety"], "drug_safety": ["药品安全", "drug safety"], "product_quality": ["产品质量", "product quality"], "price": ["价格", "price"], "contract": ["合同", "contract"], "advertising": ["广告", "advertising"], "prepaid_card": ["预付卡", "prepaid card"], "service_quality": ["服务质量", "service quality"], "counterfeit": ["假冒伪劣", "counterfeit"], "weights_measures": ["计量", "weights and measures"], "other": ["其他", "other"]},
      "kind": {"rule": ["规则", "rule"], "anomaly": ["异常", "anomaly"], "iot": ["物联网", "IoT"], "cross-sector": ["跨行业", "cross-sector"], "cross-region": ["跨区域", "cross-region"], "deadline": ["期限", "deadline"], "list": ["名单", "list"]},
      "severity": {"critical": ["严重", "critical"], "high": ["高", "high"], "medium": ["中", "medium"], "low": ["低", "low"]},
      "tier": {"A": ["低风险", "low risk"], "B": ["一般风险", "general risk"], "C": ["较高风险", "higher risk"], "D": ["高风险", "high risk"]},
      "disposition": {"board": ["看板", "board"], "digest": ["日汇总", "daily digest"], "case": ["档案", "case file"]},
      "department": {"market_regulation": ["市场监管部门", "market regulation"], "ecology_environment": ["生态环境部门", "ecology and environment"], "taxation": ["税务部门", "taxation"], "court": ["法院", "court"], "government_services": ["政务服务部门", "government services"], "housing_construction": ["住房和城乡建设部门", "housing and construction"], "emergency_management": ["应急管理部门", "emergency management"], "education": ["教育部门", "education"], "health": ["卫生健康部门", "health"], "financial_regulation": ["金融监管部门", "financial regulation"], "industry_association": ["行业协会", "industry association"], "superior_unit": ["上级主管单位", "superior unit"], "audit": ["审计部门", "audit"], "discipline_inspection": ["纪检监察机关", "discipline inspection"], "organisation_personnel": ["组织人事部门", "organisation and personnel"]},
      "enforcement": {"penalty": ["行政处罚", "penalty"], "licence_granted": ["行政许可", "licence granted"], "licence_suspended": ["暂扣许可证", "licence suspended"], "licence_revoked": ["吊销许可证", "licence revoked"], "spot_check": ["双随机抽查", "spot check"], "court_dishonest_debtor": ["失信被执行人", "court dishonest debtor"], "tax_violation": ["税收违法", "tax violation"], "abnormal_operation_listed": ["列入经营异常名录", "abnormal operation listed"], "abnormal_operation_removed": ["移出经营异常名录", "abnormal operation removed"], "commitment_made": ["作出信用承诺", "commitment made"], "commitment_fulfilled": ["履行信用承诺", "commitment fulfilled"], "commitment_breached": ["违背信用承诺", "commitment breached"], "rectification_ordered": ["责令整改", "rectification ordered"], "rectification_completed": ["整改完成", "rectification completed"], "interview": ["信用约谈", "interview"], "repair_applied": ["申请信用修复", "repair applied"], "repair_completed": ["信用修复完成", "repair completed"], "voluntary_registration": ["自愿注册信用信息", "voluntary registration"], "honour": ["表彰奖励", "honour"], "objection_filed": ["提出异议", "objection filed"], "objection_decided": ["异议处理决定", "objection decided"], "decision_refused": ["拒不履行行政处罚决定", "penalty decision refused"], "list_proposed": ["提出列入名单", "list entry proposed"], "list_decided": ["名单认定决定", "list entry decided"], "list_statement": ["陈述申辩", "statement of the subject"]},
      "penalty_severity": {"minor": ["轻微", "minor"], "general": ["一般", "general"], "serious": ["严重", "serious"]},
      "publication": {"published": ["公示中", "published"], "expired": ["公示期满", "expired"], "repaired": ["已信用修复", "repaired"], "corrected": ["已更正撤销", "corrected"]}
    }
  };

  // ---- DOM from data, without ever parsing it as HTML ---------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (typeof v === "function") node.addEventListener(k.replace(/^on/, ""), v);
      else if (k === "className") node.className = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    append(node, children);
    return node;
  }
  function append(node, children) {
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      node.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }
  function replace(node, ...children) { node.replaceChildren(); append(node, children); }

  // ---- access token --------------------------------------------------------------------
  // The demo prints the board's address with "#token=…". The token is kept for this
  // tab only (sessionStorage, which no other origin can read) and sent as a bearer
  // header, the alert board's live stream included. Never as a cookie: the browser
  // would attach it to requests any page of the same site makes, another port of this
  // host among them. The fragment never reaches the server or logs; the rest of the
  // address (a filter, "#case=…") stays.
  const TOKEN_KEY = "cw_token";
  function takeToken() {
    const match = location.hash.match(/token=([^&]+)/);
    if (match) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1]));
      const rest = location.hash.slice(1).split("&").filter((part) => !part.startsWith("token=")).join("&");
      history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    }
    // Earlier versions of the board set the token as a cookie: remove it.
    document.cookie = `${TOKEN_KEY}=; path=/; max-age=0; SameSite=Strict`;
    return sessionStorage.getItem(TOKEN_KEY);
  }
  const token = takeToken();
  // The headers that carry the token, with ``extra``.
  function authorised(extra) {
    const headers = { ...extra };
    if (token) headers.Authorization = `Bearer ${token}`;
    return headers;
  }
  let asked = false;
  // Without a valid token, ask for one (once: several requests fail at once) and reload.
  function askForToken(prompt) {
    if (asked) return;
    asked = true;
    const given = window.prompt(prompt);
    if (given) { sessionStorage.setItem(TOKEN_KEY, given.trim()); location.reload(); }
  }
  // GET ``path``, or POST ``body`` as JSON; the answer's JSON. A refusal throws an Error
  // with the server's reason and the HTTP ``status``; a 401 asks for a token with
  // ``prompt`` when one is given.
  async function api(path, { body, prompt } = {}) {
    const headers = authorised({ Accept: "application/json" });
    const init = { headers, cache: "no-store" };
    if (body !== undefined) {
      init.method = "POST";
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(path, init);
    if (response.status === 401 && prompt) askForToken(prompt);
    let answer = null;
    try { answer = await response.json(); } catch (_) { /* not JSON: reported below */ }
    if (!response.ok) {
      const err = new Error((answer && answer.error) || `HTTP ${response.status}`);
      err.status = response.status;
      throw err;
    }
    return answer;
  }

  // ---- language ------------------------------------------------------------------------
  // One choice for every page of the board, remembered in the browser.
  const LANG_KEY = "creditwatch.board.lang";
  function savedLanguage() {
    let saved = null;
    try { saved = localStorage.getItem(LANG_KEY); } catch (_) { /* storage disabled */ }
    return saved === "en" ? "en" : "zh";
  }
  function saveLanguage(lang) {
    try { localStorage.setItem(LANG_KEY, lang); } catch (_) { /* private mode: not remembered */ }
  }
  // ``t(key, ...args)`` over a page's words ({zh: {...}, en: {...}}) in the language
  // ``lang()`` gives; a word that is a function is called with ``args``.
  function translator(words, lang) {
    return (key, ...args) => {
      const v = words[lang()][key];
      return typeof v === "function" ? v(...args) : v;
    };
  }
  // The page's static words: its title, every [data-i18n] text and [data-i18n-aria]
  // label, and the language button, which names the other language in that language.
  function showWords(t, lang) {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.title = t("title");
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-aria]")) node.setAttribute("aria-label", t(node.dataset.i18nAria));
    const toggle = document.getElementById("lang-toggle");
    toggle.textContent = t("toggle");
    toggle.setAttribute("lang", lang === "zh" ? "en" : "zh-CN");
  }
  // A code's label in ``lang`` (the code itself if the vocabulary has none); with
  // ``capital``, an English label starts with a capital, as a word of its own does.
  function label(group, code, lang, capital = false) {
    const pair = (VOCABULARY.labels[group] || VOCABULARY[group] || {})[code];
    if (!pair) return String(code);
    if (lang === "zh") return pair[0];
    return capital ? pair[1].charAt(0).toUpperCase() + pair[1].slice(1) : pair[1];
  }
  const county = (code, lang) => (lang === "zh" ? VOCABULARY.counties : VOCABULARY.counties_en)[code] || String(code);

  // ---- time ----------------------------------------------------------------------------
  const locale = (lang) => (lang === "zh" ? "zh-CN" : "en-GB");
  // A short date and the time ("short" or "medium"); what is no time, as it came.
  function formatTime(iso, lang, timeStyle) {
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return d.toLocaleString(locale(lang), { dateStyle: "short", timeStyle });
  }

  return {
    VOCABULARY, el, append, replace, authorised, askForToken, api,
    savedLanguage, saveLanguage, translator, showWords, label, county, locale, formatTime,
  };
})();
