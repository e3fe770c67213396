"""Every word of the backtest's table and page, in Chinese and English, in one place.

The codes the rest of the system names (tiers, counties, sectors, alert kinds,
lists) take their words from ``pipeline.alert_titles.WORDS``, as the board
does; the words here are the backtest's own. The terminal table is printed in
English; the HTML page shows both languages.
"""

from __future__ import annotations

from typing import Any

from pipeline.alert_titles import EN, WORDS, ZH

Words = tuple[str, str]  # (Chinese, English)

__all__ = ["EN", "LABELS", "ZH", "label", "word"]

LABELS: dict[str, Words] = {
    "title": ("信用监管政策回测", "Policy backtest"),
    "heading": (
        "回放记录库中 {records:,} 条输入记录"
        "（{first} 至 {last}，{days:.1f} 天，{subjects:,} 个主体）",
        "{records:,} input records from the record store, {first} to {last} "
        "({days:.1f} days), {subjects:,} subjects",
    ),
    "policy": (
        "{side}：政策 {version}（sha256 {digest}），{source}",
        "{side}: policy {version} (sha256 {digest}) from {source}",
    ),
    "same_file": ("两份政策文件内容相同。", "The two policy files are identical."),
    "current": ("现行政策", "current"),
    "new": ("新政策", "new"),
    "change": ("变化", "change"),
    "tiers": ("期末风险等级分布", "Tiers at the end"),
    "tier": ("风险等级", "tier"),
    "tier_changes": ("发布的等级变更", "Tier changes published"),
    "tier_change": ("变更", "change"),
    "transitions": ("期末等级不同的主体（现行 → 新）", "Subjects whose tier differs at the end"),
    "subjects": ("主体数", "subjects"),
    "by_county": ("各县（市、区）等级变动", "Tier moves by county"),
    "county": ("县（市、区）", "county"),
    "by_sector": ("各行业等级变动", "Tier moves by sector"),
    "sector": ("行业", "sector"),
    "riskier": ("调高", "riskier"),
    "safer": ("调低", "safer"),
    "lists": ("名单列入与移出", "List entries and exits"),
    "list": ("名单", "list"),
    "action": ("变动", "action"),
    "listed": ("期末在名单上的主体", "Subjects on a list at the end"),
    "only_new": ("仅在新政策下", "only under new"),
    "only_current": ("仅在现行政策下", "only under current"),
    "alerts": ("预警数量（按类型与去向）", "Alerts by kind and disposition"),
    "kind": ("类型", "kind"),
    "outcome": ("去向", "disposition"),
    "budget": (
        "看板事项（每千个主体每日）：现行 {current:,.1f}，新 {new:,.1f}（{change:+,.1f}）",
        "Board items per 1,000 subjects per day: current {current:,.1f}, new {new:,.1f} "
        "({change:+,.1f})",
    ),
    "unchanged": (
        "无变化：新政策在这段历史上不改变任何等级、名单或预警。",
        "No changes: the new policy moves no tier, list or alert over this history.",
    ),
    "changed": (
        "{moves:,} 个主体期末等级不同（调高 {riskier:,}，调低 {safer:,}）；"
        "名单列入 {entered:+,}，移出 {exited:+,}；预警 {alerts:+,}（看板事项 {board:+,}）",
        "{moves:,} subjects end in another tier ({riskier:,} riskier, {safer:,} safer); "
        "list entries {entered:+,}, exits {exited:+,}; alerts opened {alerts:+,} "
        "(board items {board:+,})",
    ),
    "rejected": (
        "{count:,} 条存储记录已不符合当前契约，未回放：{reasons}",
        "{count:,} stored records no longer pass their contract and were not replayed: {reasons}",
    ),
    "replayed": (
        "回放速度 {rate:,.0f} 条/秒（两种政策），用时 {seconds:,.1f} 秒",
        "replayed at {rate:,.0f} records/s (both policies), {seconds:,.1f} s",
    ),
    "section_tiers": ("风险等级", "Tiers"),
    "section_moves": ("等级变动", "Tier moves"),
    "section_lists": ("名单", "Lists"),
    "section_alerts": ("预警", "Alerts"),
    "plot_tiers": ("期末风险等级分布", "Tiers at the end"),
    "plot_counties": ("各县（市、区）等级变动", "Tier moves by county"),
    "plot_alerts": (
        "各类型看板事项数（看板预警与日汇总）",
        "Board items by kind (alerts and digests)",
    ),
    "leaves_out": (
        "回放按事件时间顺序，在单一进程内执行与工作进程相同的纯步骤；不含批处理、分区、重投递；"
        "物联网读数仅含记录库仍保存的部分；回放窗口之前的记录不计入。",
        "The replay runs the workers' pure steps in one process, in event-time order: no "
        "batching, partitions or redelivery; IoT readings only as far back as the store keeps "
        "them; records before the window do not count.",
    ),
}

#: The backtest's own codes: what became of an alert, list actions, tier change kinds.
OWN_WORDS: dict[str, dict[str, Words]] = {
    "outcome": {
        "board": ("看板", "board"),
        "digests": ("日汇总", "digests"),
        "in digests": ("计入日汇总", "in digests"),
        "case": ("仅入档案", "case only"),
        "muted": ("已静默", "muted"),
        "repeats": ("重复（并入计数）", "repeats"),
    },
    "action": {
        "entered": ("列入", "entered"),
        "exited": ("移出", "exited"),
        # a list's due procedure (docs/workflows.md): its steps before publication
        "proposed": ("提出列入", "proposed"),
        "decided": ("认定列入", "decided"),
        "dismissed": ("不予列入", "dismissed"),
    },
    "tier_change": {
        "first": ("首次评定", "first grade"),
        "riskier": ("调高", "riskier"),
        "safer": ("调低", "safer"),
    },
}


def label(key: str, lang: int, **values: Any) -> str:
    """The words of ``key`` in ``lang`` (:data:`ZH` or :data:`EN`), filled with ``values``.

    >>> label("riskier", ZH), label("riskier", EN)
    ('调高', 'riskier')
    """
    text = LABELS[key][lang]
    return text.format(**values) if values else text


def word(group: str, code: str, lang: int) -> str:
    """The name of ``code`` in ``group``; the code itself for one nobody named.

    >>> word("tier", "D", ZH), word("county", "130102", EN), word("outcome", "case", EN)
    ('高风险', "Chang'an District", 'case only')
    """
    words = OWN_WORDS.get(group) or WORDS.get(group) or {}
    pair = words.get(code)
    return pair[lang] if pair is not None else code
