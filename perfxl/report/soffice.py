"""How perfxl starts LibreOffice: where soffice is, and the environment that maps the Chinese
official fonts (used by :mod:`.converter`; :mod:`.pdf` is the public entry).

Linux machines have none of 仿宋_GB2312 / 方正小标宋简体 / 黑体 / 楷体_GB2312; without help LibreOffice
prints every Chinese face as one fallback.  Each LibreOffice perfxl starts
(:mod:`.converter`, one kept alive per process) therefore runs with

* its own LibreOffice profile (``-env:UserInstallation=file://<tmp>``): concurrent converters
  never share or lock a profile and the user's own profile is untouched;
* ``FONTCONFIG_FILE`` pointing at a generated ``fonts.conf`` that includes the system
  configuration and adds ``<alias binding="same">`` rules mapping each official face to the
  closest installed one (:data:`ALIASES`), so 仿宋, 小标宋, 黑体 and 楷体 stay four faces.

The PDF is written atomically by the caller (:func:`perfxl.report.render_report`).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from xml.sax.saxutils import escape


#: official face names (as templates write them) → installed faces to use, best first.
ALIASES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("仿宋_GB2312", "仿宋", "FangSong", "FangSong_GB2312", "仿宋_GB18030", "STFangsong", "华文仿宋"),
     ("FangSong", "FandolFang", "AR PL UMing CN", "Noto Serif CJK SC")),
    (("方正小标宋简体", "方正小标宋_GBK", "方正小标宋", "FZXiaoBiaoSong-B05S", "小标宋"),
     ("Noto Serif CJK SC", "AR PL UMing CN")),
    (("宋体", "SimSun", "NSimSun", "新宋体", "STSong", "华文宋体"),
     ("SimSun", "Noto Serif CJK SC", "AR PL UMing CN")),
    (("黑体", "SimHei", "微软雅黑", "Microsoft YaHei", "STHeiti", "华文黑体"),
     ("SimHei", "Noto Sans CJK SC", "WenQuanYi Zen Hei")),
    (("楷体_GB2312", "楷体", "KaiTi", "KaiTi_GB2312", "STKaiti", "华文楷体"),
     ("KaiTi", "AR PL UKai CN", "FandolKai", "LXGW WenKai")),
)
#: faces printed in a heavier weight than their stand-in's regular (小标宋 is a bold Song).
BOLD_FACES = ("方正小标宋简体", "方正小标宋_GBK", "方正小标宋", "FZXiaoBiaoSong-B05S", "小标宋")
SYSTEM_FONTS_CONF = "/etc/fonts/fonts.conf"


def fonts_conf() -> str:
    """The fontconfig file used for conversions (aliases first, then the system config)."""
    lines = ['<?xml version="1.0"?>', '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">', "<fontconfig>"]
    for names, targets in ALIASES:
        prefer = "".join(f"<family>{escape(t)}</family>" for t in targets)
        for n in names:
            lines.append(f'  <alias binding="same"><family>{escape(n)}</family><prefer>{prefer}</prefer></alias>')
    for n in BOLD_FACES:
        lines.append(f'  <match target="pattern"><test name="family"><string>{escape(n)}</string></test>'
                     '<edit name="weight" mode="assign"><const>bold</const></edit></match>')
    lines.append(f'  <include ignore_missing="yes">{SYSTEM_FONTS_CONF}</include>')
    lines.append("</fontconfig>")
    return "\n".join(lines) + "\n"


def find_soffice() -> str | None:
    """The LibreOffice executable: ``$PERFXL_SOFFICE``, ``soffice`` or ``libreoffice`` on PATH."""
    env = os.environ.get("PERFXL_SOFFICE")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    return shutil.which("soffice") or shutil.which("libreoffice")


def environment(workdir: Path) -> dict[str, str]:
    """Environment for a conversion in ``workdir`` (writes ``fonts.conf`` there)."""
    conf = workdir / "fonts.conf"
    conf.write_text(fonts_conf(), encoding="utf-8")
    env = dict(os.environ)
    env["FONTCONFIG_FILE"] = str(conf)
    env.setdefault("SAL_USE_VCLPLUGIN", "svp")
    return env
