"""A person as a résumé in one layout: a list of blocks (main column, side column) that the
text, DOCX and PDF renderers lay out, and the file name people give it."""

from __future__ import annotations

import random
from typing import Any

from loadtest.resumes.layouts import Layout, date_range, fmt_ym, ordered
from loadtest.resumes.people import YM, Edu, Job, Person, round_years, ym_add, ym_idx
from loadtest.resumes.vocab import VOCAB

Block = tuple[Any, ...]
"""("title", text) ("name", text) ("line", text) ("heading", text) ("para", text)
("entry", left, right, sub_lines, bullets) ("bullets", items, mark) ("table", rows, header)"""


def build(
    layout: Layout, p: Person, rng: random.Random, ref: YM
) -> tuple[list[Block], list[Block]]:
    """The résumé as blocks (main column, side column)."""
    zh = layout.lang == "zh"
    main: list[Block] = []
    side: list[Block] = []
    colon = "：" if zh else ": "
    worked = {m for j in p.jobs for m in range(ym_idx(j.start), ym_idx(j.end or ref) + 1)}
    years = round_years(len(worked))

    # Header
    h = layout.header
    if h in {"kv", "title_kv", "kv2"} and zh:
        if h == "title_kv":
            main.append(("title", "个人简历"))
        pairs = [
            ("姓名", p.name),
            ("性别", p.gender),
            ("出生年月", fmt_ym(p.birth, "dot")),
            ("电话", p.phone),
            ("邮箱", p.email),
            ("求职意向", p.objective),
            ("现居地", p.city),
        ]
        if p.jobs and rng.random() < 0.6:
            pairs.insert(3, ("工作年限", f"{max(1, int(years))}年"))
        if h == "kv2":
            main.append(("name", p.name))
            pairs = pairs[1:]
            main += [
                ("line", "    ".join(f"{k}{colon}{v}" for k, v in pairs[i : i + 2]))
                for i in range(0, len(pairs), 2)
            ]
        else:
            main += [("line", f"{k}{colon}{v}") for k, v in pairs]
    elif h in {"title_kv", "kv_en"}:
        if h == "title_kv":
            main.append(("title", "Curriculum Vitae"))
            main.append(("name", p.name))
            main += [
                ("line", f"{k}: {v}")
                for k, v in [("Email", p.email), ("Phone", p.phone), ("Address", p.city)]
            ]
        else:
            main += [
                ("line", f"{k}: {v}")
                for k, v in [
                    ("Name", p.name),
                    ("Phone", p.phone),
                    ("Email", p.email),
                    ("Location", p.city),
                ]
            ]
    elif h in {"name_contact", "spaced_name"}:
        shown = " ".join(p.name) if h == "spaced_name" else p.name
        main.append(("name", shown))
        if zh:
            main.append(("line", f"电话：{p.phone} | 邮箱：{p.email} | {p.city}"))
            main.append(("line", f"求职意向：{p.objective}"))
        else:
            sep = rng.choice([" | ", " · ", "  •  "])
            main.append(("line", sep.join([p.city, p.phone, p.email, p.linkedin])))
    elif h == "markdown":
        main.append(("line", f"# {p.name}"))
        main.append(("line", f"{p.email} · {p.phone} · {p.city}"))
    elif h == "info_table":
        main.append(("title", "个人简历"))
        rows = [
            ["姓名", p.name, "性别", p.gender],
            ["出生年月", fmt_ym(p.birth, "dot"), "现居地", p.city],
            ["联系电话", p.phone, "电子邮箱", p.email],
            ["求职意向", p.objective, "到岗时间", "一个月内"],
        ]
        main.append(("table", rows, False))
    elif h == "contact_table":
        headline = p.jobs[0].role if p.jobs else f"{p.education[0].major or 'Graduate'} graduate"
        main.append(
            ("table", [[f"{p.name}\n{headline}", f"{p.phone}\n{p.email}\n{p.city}"]], False)
        )
    elif h == "sidebar":
        main.append(("name", p.name))
        main.append(("line", p.objective))
        if zh:
            side += [
                ("heading", "联系方式"),
                ("line", f"手机：{p.phone}"),
                ("line", f"邮箱：{p.email}"),
                ("line", f"现居：{p.city}"),
            ]
        else:
            side += [
                ("heading", "Contact"),
                ("line", p.phone),
                ("line", p.email),
                ("line", p.city),
                ("line", p.linkedin),
            ]
    else:
        raise ValueError(f"unknown header {h!r}")

    numerals = "一二三四五六七八九"
    n_heading = 0
    for key, word in layout.sections:
        content = _section(key, layout, p, rng, ref, years)
        if not content:
            continue
        target = side if layout.header == "sidebar" and key in {"skills", "certificates"} else main
        heading = f"{numerals[n_heading]}、{word}" if layout.deco == "numbered" else word
        n_heading += 1
        target.append(("heading", heading))
        target.extend(content)
    return main, side


def _section(
    key: str, layout: Layout, p: Person, rng: random.Random, ref: YM, years: float
) -> list[Block]:
    zh = layout.lang == "zh"
    bullet = layout.bullet
    if key == "summary":
        return [("para", _summary(p, zh, years, rng))]
    if key == "experience":
        jobs = ordered(p.jobs, layout)
        if not jobs:
            return [("para", "应届毕业生，暂无全职工作经历。")] if zh else []
        if layout.exp_style == "table":
            head = (
                ["时间", "公司名称", "职位", "工作内容"]
                if zh
                else ["Dates", "Employer", "Title", "Highlights"]
            )
            rows = [[date_range(j.start, j.end, layout.date), j.employer, j.role, "；".join(j.duties) if zh else "; ".join(j.duties)] for j in jobs]  # fmt: skip
            return [("table", [head, *rows], True)]
        return [_job_entry(j, layout) for j in jobs]
    if key == "education":
        edus = ordered(p.education, layout)
        if layout.edu_style == "table":
            head = (
                ["时间", "学校", "专业", "学历"] if zh else ["Dates", "School", "Program", "Degree"]
            )
            rows = [
                [
                    date_range(e.start, e.end, layout.edu_date),
                    e.school,
                    e.major or "",
                    e.degree_text,
                ]
                for e in edus
            ]
            return [("table", [head, *rows], True)]
        return [_edu_entry(e, layout, rng) for e in edus]
    if key == "projects":
        if not p.jobs:
            return []
        job = p.jobs[0]
        start = ym_add(job.start, 2)
        end = ym_add(start, 5)
        if ym_idx(end) > ym_idx(job.end or ref):
            return []
        name = rng.choice(
            ["智能客服平台", "数据中台建设", "会员体系升级", "费用管控系统", "合同管理系统"]
        )
        return [
            (
                "entry",
                f"{date_range(start, end, layout.date)}  {name}",
                None,
                ["角色：项目负责人"],
                [],
            )
        ]
    if key == "skills":
        s = p.skills
        if layout.skills == "kv":
            if zh:
                return [("line", "技能：" + "、".join(s))]
            return [("line", "Skills: " + ", ".join(s))]
        if layout.skills == "comma":
            sep = rng.choice(["，", "、"]) if zh else ", "
            return [("para", sep.join(s))]
        if layout.skills == "bullets":
            return [("bullets", list(s), bullet)]
        if layout.skills == "spaced":
            return [("para", " | ".join(s))]
        if layout.skills == "grouped":
            half = max(1, len(s) // 2)
            return [
                ("line", "Programming: " + ", ".join(s[:half])),
                ("line", "Tools and methods: " + ", ".join(s[half:])),
            ]
        raise ValueError(layout.skills)
    if key == "certificates":
        c = p.certs
        if not c:
            return []
        if layout.certs == "kv":
            return [
                ("line", ("证书：" + "、".join(c)) if zh else "Certifications: " + ", ".join(c))
            ]
        if layout.certs == "comma":
            return [("para", ("、" if zh else ", ").join(c))]
        year = max(2000, (p.jobs[-1].start[0] if p.jobs else p.education[0].end[0]))
        if zh:
            return [
                (
                    "bullets",
                    [f"{cert}（{year + i}年）" if i == 0 else cert for i, cert in enumerate(c)],
                    bullet,
                )
            ]
        return [
            (
                "bullets",
                [f"{cert} ({year + 1})" if i == 0 else cert for i, cert in enumerate(c)],
                bullet,
            )
        ]
    if key == "awards":
        y = p.education[-1].end[0]
        if zh:
            items = [f"{y - 2}年 国家励志奖学金", f"{y - 1}年 校级优秀学生干部"]
            if p.jobs:
                items.append(f"{p.jobs[0].start[0]}年度优秀员工")
            return [("bullets", items, bullet)]
        return [
            (
                "bullets",
                [f"Dean's List ({y - 3}, {y - 2})", f"Graduate Fellowship, {y - 1}"],
                bullet,
            )
        ]
    raise ValueError(key)


def _summary(p: Person, zh: bool, years: float, rng: random.Random) -> str:
    n = max(1, round(years))
    if zh:
        if not p.jobs:
            return f"{p.education[0].end[0]}届应届毕业生，在校期间担任学生会干部，具备良好的沟通能力和团队合作精神，能快速学习新知识。"
        trade = {
            "tech": "互联网研发",
            "finance": "财务审计",
            "ops": "互联网运营",
            "law": "法律事务",
            "hr": "人力资源",
        }[p.field]
        return rng.choice(
            [
                f"{n}年{trade}经验，熟悉{p.skills[0]}与{p.skills[1]}，责任心强，抗压能力强。",
                f"拥有{n}年以上{trade}工作经验，曾带领5人团队，善于沟通协调，学习能力强。",
            ]
        )
    if not p.jobs:
        return f"Recent graduate (class of {p.education[0].end[0]}) with internship-level exposure to {p.skills[0]} and {p.skills[1]}; eager to learn and ship."
    trade = VOCAB.en.fields[p.field].industry
    return rng.choice(
        [
            f"{p.objective} with {n}+ years of experience in {trade}. Strong in {p.skills[0]} and {p.skills[1]}.",
            f"Over {n} years in {trade}, including 2 years leading a small team. Known for clear writing and calm delivery.",
        ]
    )


def _job_entry(j: Job, layout: Layout) -> Block:
    dates = date_range(j.start, j.end, layout.date)
    s = layout.exp_style
    duties = list(j.duties)
    if s == "date_first":
        return ("entry", f"{dates}    {j.employer}    {j.role}", None, [], duties)
    if s == "pipe":
        return ("entry", f"{j.employer} | {j.role} | {dates}", None, [], duties)
    if s == "stacked":
        sub = [f"职位：{j.role}" if layout.lang == "zh" and layout.fmt == "txt" else j.role]
        return ("entry", j.employer, dates, sub, duties)
    if s == "role_at":
        return ("entry", f"{j.role} — {j.employer}", dates, [], duties)
    if s == "role_comma":
        return ("entry", f"{j.role}, {j.employer}", dates, [], duties)
    raise ValueError(s)


def _edu_entry(e: Edu, layout: Layout, rng: random.Random) -> Block:
    dates = date_range(e.start, e.end, layout.edu_date)
    s = layout.edu_style
    major = e.major or ""
    if layout.lang == "zh":
        if s == "date_first":
            return (
                "entry",
                "    ".join(x for x in [dates, e.school, major, e.degree_text] if x),
                None,
                [],
                [],
            )
        if s == "pipe":
            return (
                "entry",
                " | ".join(x for x in [e.school, major, e.degree_text, dates] if x),
                None,
                [],
                [],
            )
        if s == "stacked":
            return ("entry", e.school, dates, [f"{major}  {e.degree_text}".strip()], [])
        raise ValueError(s)
    degree = f"{e.degree_text} in {major}" if major else e.degree_text
    if e.degree_text in {"MSc", "BEng", "B.Sc."} and major and rng.random() < 0.5:
        degree = f"{e.degree_text} {major}"
    if s == "degree_first":
        return ("entry", f"{degree}, {e.school}", dates, [], [])
    if s == "pipe":
        return ("entry", f"{e.school} | {degree} | {dates}", None, [], [])
    if s == "stacked":
        return ("entry", e.school, dates, [degree], [])
    raise ValueError(s)


def filename(p: Person, layout: Layout, rng: random.Random) -> str:
    """A file name as people write them ("张伟_简历.pdf", "CV - Jordan Reyes.docx")."""
    ext = layout.fmt
    if layout.lang == "zh":
        pattern = rng.choice(
            [
                "{n}_简历.{e}",
                "简历-{n}-{r}.{e}",
                "{n}的简历.{e}",
                "{r}-{n}.{e}",
                "个人简历（{n}）.{e}",
            ]
        )
        return pattern.format(n=p.name, r=p.objective.replace("/", "-"), e=ext)
    compact = p.name.replace(" ", "_").replace(".", "").replace("'", "")
    pattern = rng.choice(["{c}_Resume.{e}", "resume_{l}.{e}", "CV - {n}.{e}", "{c}_CV_2026.{e}"])
    return pattern.format(c=compact, n=p.name, l=compact.split("_")[-1].lower(), e=ext)
