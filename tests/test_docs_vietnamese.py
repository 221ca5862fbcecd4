"""The Vietnamese of the pages follows docs/glossary.md: one spelling of the tone marks, one number format,
the glossary's terms (English only in brackets), a Vietnamese version after every "What to look for" caption, and
the glossary's two rows for the Transformer block and the stack of them.

These tests read files only: no lesson runs, well under a second."""
import json
import os
import re
import unicodedata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GLOSSARY = REPO / "docs" / "glossary.md"
LESSONS = ["docs/01_vit.md", "docs/02_imagemae.md", "docs/03_videomae.md", "docs/05_why_videomae.md"]
PAGES = [*LESSONS, "docs/04_project71.md", "README.md"]
CELLS = sorted(str(p.relative_to(REPO)) for p in (REPO / "notebooks").glob("cells_*.py"))
SKIP = {".git", ".venv", "venv", "outputs", "runs", "build", "dist", "__pycache__", "node_modules"}

# The tone mark on the second vowel of an open oa, oe or uy syllable (the glossary writes the first: hóa, khóa,
# thúy). "qu" + y is another rhyme (quý is right), and a closed syllable (hoán, hoàn) is not open.
OLD_STYLE_TONE = re.compile(r"(?<!q)(o[áàảãạ]|o[éèẻẽẹ]|u[ýỳỷỹỵ])(?!\w)", re.IGNORECASE)
# The glossary names the wrong forms once, in brackets after "not": the only place they may stand.
GLOSSARY_WRONG_FORMS = re.compile(r"\(not [^)]*\)")

# A count (tokens, clips, steps, ...) is a whole number, so a dot followed by exactly three digits inside a count
# is a Vietnamese thousands separator: "1.568 token". A decimal is not a count: 0.0121 has four digits after the
# dot, a loss such as 1.345 is not followed by a counted noun, and neither is flagged.
COUNT_NOUN = r"(?:token|khối|mảnh|clip|ảnh|bước|khung hình|tham số|mẫu|nhãn|lớp|epoch)"
DOT_THOUSANDS = re.compile(rf"(?<![\d.,])[1-9]\d{{0,2}}(?:\.\d{{3}})+(?![\d]|\.\d)\s+{COUNT_NOUN}\b", re.IGNORECASE)
# A comma followed by one or two digits (not three) is a decimal comma: "46,3%". "1,568" and "1,2,3" are not.
DECIMAL_COMMA = re.compile(r"(?<![\d,])\d+,\d{1,2}(?![\d,])")

# Glossary terms that Vietnamese text writes in Vietnamese, keeping the English only in brackets right after the
# Vietnamese term: "tinh chỉnh (fine-tune)", "cơ chế chú ý (attention)".
ENGLISH_TERMS = re.compile(r"\b(fine-tun\w*|attention|encoder|decoder|layer\s?norm\w*|overfitting|learning\s+rate|"
                           r"tube\s+masking|random\s+masking|pretrain\w*|warm-?up)\b", re.IGNORECASE)
VIETNAMESE_LETTERS = set("ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ")


def read(path) -> str:
    """A page's text; for a notebook's cells file, its Markdown cells (the code cells are code)."""
    text = unicodedata.normalize("NFC", (REPO / path).read_text(encoding="utf-8"))
    if str(path).endswith(".py"):
        text = "\n\n".join(re.findall(r'"markdown",\s*"""(.*?)"""', text, flags=re.DOTALL))
    return text


def texts_to_spell_check():
    """(path, text) of every .md, .py and .ipynb of the repository (a notebook: its cells' sources)."""
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in SKIP and not d.startswith(".") and not d.endswith(".egg-info")]
        for name in files:
            path = Path(root, name)
            if path.suffix not in {".md", ".py", ".ipynb"}:
                continue
            text = unicodedata.normalize("NFC", path.read_text(encoding="utf-8", errors="replace"))
            if path.suffix == ".ipynb":
                cells = json.loads(text).get("cells", [])
                text = "\n".join("".join(c.get("source", "")) for c in cells)
            if path == GLOSSARY:
                text = GLOSSARY_WRONG_FORMS.sub("", text, count=1)
            yield path.relative_to(REPO), text


def old_style_tones(text: str) -> list[str]:
    return [m.group(0) for m in OLD_STYLE_TONE.finditer(text)]


def paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, without fenced code blocks and table rows."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)
    out = []
    for block in re.split(r"\n\s*\n", text):
        lines = [ln for ln in block.splitlines() if not ln.lstrip().startswith("|")]
        if lines:
            out.append("\n".join(lines))
    return out


def is_vietnamese(paragraph: str) -> bool:
    """Most Vietnamese words carry a letter English never uses; an English paragraph quoting the course notes
    ("AI dễ dàng copy pixel ...") has a few such words, a Vietnamese one a quarter or more."""
    words = re.findall(r"\w+", paragraph)
    vietnamese = [w for w in words if VIETNAMESE_LETTERS & set(w.lower())]
    return len(words) > 0 and len(vietnamese) >= 0.25 * len(words)


def vietnamese_paragraphs(text: str) -> list[str]:
    return [p for p in paragraphs(text) if is_vietnamese(p)]


def summaries(text: str) -> list[str]:
    """The Vietnamese summaries: a paragraph starting "**Tóm tắt", or the paragraphs of a "## Tóm tắt" section."""
    found = [p for p in paragraphs(text) if p.lstrip().startswith("**Tóm tắt")]
    for section in re.findall(r"^## Tóm tắt\s*\n(.*?)(?=^#|\Z)", text, flags=re.MULTILINE | re.DOTALL):
        found += paragraphs(section)
    return found


def number_format_slips(paragraph: str) -> list[str]:
    prose = re.sub(r"`[^`]*`", "", paragraph)  # code prints what it prints
    return [m.group(0) for m in (*DOT_THOUSANDS.finditer(prose), *DECIMAL_COMMA.finditer(prose))]


def innermost_open_bracket(text: str) -> int | None:
    """Where the bracket still open at the end of `text` starts, or None."""
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            if depth == 0:
                return i
            depth -= 1
    return None


def bare_english_terms(paragraph: str) -> list[str]:
    """Glossary terms in English outside the brackets that follow their Vietnamese term: "tinh chỉnh (fine-tune)"
    and "(Transformer Encoder)" pass; "rồi fine-tune", and "(MLP, Layer Norm, ...)" or "(thí nghiệm 2, tube
    masking 90%)", where the English stands among Vietnamese words inside a bracket, do not."""
    prose = re.sub(r"`[^`]*`|\]\([^)]*\)", "", paragraph)  # code and link targets are names, not prose
    slips = []
    for m in ENGLISH_TERMS.finditer(prose):
        before = prose[:m.start()]
        start = innermost_open_bracket(before)
        if start is None or VIETNAMESE_LETTERS & set(before[start:].lower()):
            slips.append(m.group(0))
    return slips


def captions_without_vietnamese(text: str) -> list[str]:
    """Each paragraph starting "*What to look for" must be followed by one starting "*Cần nhìn gì"."""
    paras = paragraphs(text)
    return [p[:60] for i, p in enumerate(paras) if p.startswith("*What to look for")
            and not (i + 1 < len(paras) and paras[i + 1].startswith("*Cần nhìn gì"))]


def glossary_row(text: str, english: str) -> str | None:
    return next((ln for ln in text.splitlines() if ln.startswith(f"| {english} |")), None)


def test_no_old_style_tone_marks_in_any_file():
    slips = [f"{path}: {word}" for path, text in texts_to_spell_check() for word in old_style_tones(text)]
    assert not slips, f"tone mark on the second vowel (the glossary writes hóa, khóa, thúy): {slips}"


def test_the_glossary_states_the_spelling_and_the_number_rule():
    text = " ".join(read(GLOSSARY).split())
    assert "hóa, hòa, khóa, xóa, thúy" in text
    assert "a decimal point and a thousands comma (0.0121, 46.3%, 1,568 tokens)" in text
    assert "dấu chấm thập phân và dấu phẩy phân cách hàng nghìn (0.0121, 46.3%, 1,568 token)" in text


@pytest.mark.parametrize("path", PAGES + CELLS)
def test_vietnamese_text_writes_numbers_in_the_english_format(path):
    text = read(path)
    for paragraph in summaries(text) + vietnamese_paragraphs(text):
        assert not number_format_slips(paragraph), (path, number_format_slips(paragraph), paragraph[:80])


@pytest.mark.parametrize("path", [p for p in PAGES if p != "README.md"] + CELLS)
def test_each_page_and_notebook_has_a_vietnamese_summary(path):
    assert summaries(read(path)) and vietnamese_paragraphs(read(path)), path


@pytest.mark.parametrize("path", PAGES + CELLS)
def test_vietnamese_text_uses_the_glossary_terms(path):
    for paragraph in vietnamese_paragraphs(read(path)):
        assert not bare_english_terms(paragraph), (path, bare_english_terms(paragraph), paragraph[:80])


@pytest.mark.parametrize("path", LESSONS)
def test_every_figure_caption_has_its_vietnamese_version(path):
    text = read(path)
    assert "\n*What to look for" in text and "\n*Cần nhìn gì:*" in text, path
    assert not captions_without_vietnamese(text), (path, captions_without_vietnamese(text))


@pytest.mark.parametrize("path", LESSONS + ["docs/04_project71.md"])
def test_the_conclusions_have_a_vietnamese_version(path):
    text = read(path)
    assert "**Kết luận (tiếng Việt).**" in text, path
    if path.endswith("05_why_videomae.md"):
        section = text.split("## What to conclude", 1)[1].split("\n## ", 1)[0]
        assert "**Kết luận (tiếng Việt).**" in section


def test_the_glossary_tells_a_transformer_block_from_the_encoder_that_stacks_them():
    text = read(GLOSSARY)
    block, encoder = glossary_row(text, "transformer block"), glossary_row(text, "transformer encoder")
    assert block and "khối Transformer (Transformer block)" in block and "Transformer Encoder" not in block
    assert encoder and "bộ mã hóa Transformer (Transformer Encoder)" in encoder
    assert "build_blocks" in encoder and "vit/model.py" in encoder and "12" in encoder


def test_the_checks_catch_what_they_are_for():
    """Each rule fails on the text it was written against, and passes what is right."""
    assert old_style_tones("theo bảng của kho\u00e1 học") == ["o\u00e1"]
    assert not old_style_tones("khóa học, hoán vị, quý, hoàn toàn, chuẩn hóa")
    assert number_format_slips("tức 8x14x14 = 1.568 token, rồi 1.408 token bị che; 46,3%")
    assert not number_format_slips("1,568 token; loss 0.0121 ở bước 200; 1.345 sau; x0.87; `1.568 token`")
    assert bare_english_terms("ViT video có attention không-thời gian, rồi fine-tune với 60 nhãn")
    assert bare_english_terms("khối Transformer (cơ chế chú ý đa đầu, MLP, Layer Norm, kết nối tắt)")
    assert bare_english_terms("Thí nghiệm 2 (học từ đầu so với được tiền huấn luyện, tube\nmasking 90%)")
    assert not bare_english_terms("cơ chế chú ý (attention), rồi tinh chỉnh (fine-tune, Layer Norm)")
    assert captions_without_vietnamese("*What to look for: a patch.*\n\nThe whole operation")
    assert not captions_without_vietnamese("*What to look for: a patch.*\n\n*Cần nhìn gì:* một mảnh.")
    assert is_vietnamese("Bài này dạy Vision Transformer (ViT): cắt ảnh thành mảnh")
    assert not is_vietnamese('The course notes\' argument: with random masking "AI dễ dàng copy pixel".')
