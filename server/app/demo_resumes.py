"""Demo résumés (fictional people, example.com addresses) and the demo job's screening."""

from __future__ import annotations

DEMO_SCREENING = {
    "requirements": {
        "min_degree": "bachelor",
        "min_years": 2,
        "required_skills": ["公文写作"],
        "required_certificates": [],
        "nice_to_have": [
            {"kind": "skill", "value": "数据分析", "weight": 3},
            {"kind": "keyword", "value": "应急", "weight": 2},
            {"kind": "certificate", "value": "CET-6", "weight": 1},
        ],
        "auto_invite_threshold": 80,
    },
    "followups": {"count": 2, "in_ranking": False},
}

DEMO_RESUMES: tuple[tuple[str, str], ...] = (
    (
        "王芳-简历.txt",
        """个人简历
姓名：王芳
电话：139 1234 5678
邮箱：wang.fang@example.com

教育背景
2012.09-2016.06  华东师范大学  行政管理  本科

工作经历
2019.07-至今  示例区街道办事处  综合办公室科员
负责公文起草与审核、政策宣传解读，参与防汛应急预案编制和应急演练组织。
2016.07-2019.06  某某数据科技有限公司  数据分析专员
负责业务数据分析与月度报告。

专业技能
公文写作、数据分析、Excel、PowerPoint

资格证书
CET-6、计算机二级
""",
    ),
    (
        "刘洋_resume.txt",
        """刘洋
手机：138 0013 8000 | 邮箱：liu.yang@example.com

【教育经历】
2014.09-2018.06 中南大学 汉语言文学 学士

【工作经验】
2018.07-2021.12 某某传媒集团有限公司 编辑
2022.01-至今 示例市融媒体中心 新媒体运营主管

【技能特长】
新媒体运营、公文写作、视频剪辑
""",
    ),
    (
        "陈静简历.txt",
        """个人简历
姓名：陈静
电话：137 1234 5678
邮箱：chen.jing@example.com

教育背景
2019.09-2022.06  某某职业技术学院  会计  大专

工作经历
2022.07-至今  某某商贸有限公司  出纳

专业技能
Excel、财务软件
""",
    ),
    (
        "Zhao_Lei_CV.txt",
        """Zhao Lei
zhao.lei@example.com | +86 136 0000 1234

Education
2010.09 - 2014.06  Wuhan University  Bachelor of Public Administration
2014.09 - 2017.06  Peking University  Master of Public Policy

Work Experience
2017.07 - Present  Example City Emergency Management Bureau  Policy Analyst
Drafted emergency plans and official documents; led data analysis of incident reports.

Skills
Official document writing (公文写作), data analysis (数据分析), Python, SPSS

Certificates
CET-6, PMP
""",
    ),
)
