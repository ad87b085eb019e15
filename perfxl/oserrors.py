"""System errors in Chinese: an :class:`OSError` as the clerk should read it.

``strerror`` is English ("No space left on device") and says nothing about what to do; every
message perfxl shows for a failed read or write goes through :func:`describe` instead.
"""
from __future__ import annotations

import errno

# errno → (what happened, what to do); the common ones, by name so a platform lacking one
# (EDQUOT on some systems) simply has no entry.
_TEXT = {
    "ENOSPC": "磁盘空间已满，请清理磁盘或换一个有空间的位置",
    "EDQUOT": "超出了磁盘配额，请清理文件或联系管理员",
    "EROFS": "所在的磁盘或文件夹是只读的（如光盘、写保护的 U 盘或只读共享），请换一个可写的位置",
    "EACCES": "没有访问权限，或文件正在 Excel/WPS 中打开",
    "EPERM": "操作不被允许（没有权限，或文件被设为只读、被系统锁定）",
    "ENAMETOOLONG": "文件名或路径太长，请缩短文件名或换一个层级较浅的文件夹",
    "ENOENT": "文件或文件夹不存在",
    "EISDIR": "该位置是一个文件夹，不是文件",
    "ENOTDIR": "路径中的某一级是文件而不是文件夹",
    "EEXIST": "同名的文件或文件夹已存在",
    "ENOTEMPTY": "文件夹不是空的",
    "EBUSY": "文件正被其他程序占用",
    "ETXTBSY": "文件正被其他程序占用",
    "EIO": "读写磁盘时出错（磁盘、U 盘或网络盘可能有故障）",
    "ENOMEM": "内存不足",
    "EFBIG": "文件太大",
    "EMFILE": "同时打开的文件太多",
    "ENFILE": "系统同时打开的文件太多",
    "ELOOP": "符号链接形成了循环",
    "EXDEV": "不能跨磁盘移动文件",
    "ESTALE": "网络共享上的文件已失效，请重新连接共享后再试",
    "ETIMEDOUT": "访问超时（网络盘可能断开）",
    "ENXIO": "设备不存在或未连接",
    "ENODEV": "设备不存在或未连接",
    "EINVAL": "文件名或参数无效（可能含有该磁盘不允许的字符）",
    "EPIPE": "输出已被关闭",
    "EAGAIN": "资源暂时不可用，请稍后再试",
    "EINTR": "操作被中断",
    "ECONNRESET": "网络连接被重置",
}
_BY_ERRNO = {getattr(errno, name): text for name, text in _TEXT.items() if hasattr(errno, name)}


def describe(e: BaseException) -> str:
    """A Chinese reason for ``e`` (an :class:`OSError` or a subclass), without a full stop.

    Unknown error numbers keep a short technical tail (``错误代码 N``) so support can look
    them up; the English ``strerror`` is never shown.
    """
    if isinstance(e, MemoryError):
        return _BY_ERRNO[errno.ENOMEM]
    code = getattr(e, "errno", None)
    if code in _BY_ERRNO:
        return _BY_ERRNO[code]
    if isinstance(e, PermissionError):
        return _BY_ERRNO[errno.EACCES]
    if isinstance(e, FileNotFoundError):
        return _BY_ERRNO[errno.ENOENT]
    if isinstance(e, IsADirectoryError):
        return _BY_ERRNO[errno.EISDIR]
    if isinstance(e, NotADirectoryError):
        return _BY_ERRNO[errno.ENOTDIR]
    name = errno.errorcode.get(code, "") if isinstance(code, int) else ""
    return f"系统错误（错误代码 {code}{' ' + name if name else ''}）" if code is not None else "系统错误"
