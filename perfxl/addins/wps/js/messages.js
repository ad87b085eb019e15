// Every sentence the WPS add-in shows the clerk, built from the server's answers. Chinese only.
(function (root, factory) {
  if (typeof module === "object" && module.exports) module.exports = factory();
  else root.PerfxlMessages = factory();
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  var TITLE = "绩效自评";
  var NOT_SAVED = "结果已写入工作簿，但尚未保存：请检查后自行保存（Ctrl+S）。";

  function count(result, severity, key) {
    if (typeof result[key] === "number") return result[key];
    return (result.findings || []).filter(function (f) { return f.severity === severity; }).length;
  }

  function shown(total) {
    if (total === null || total === undefined || total === "") return "—";
    var s = Number(total).toFixed(2);
    return s.replace(/\.?0+$/, "");
  }

  function checkSummary(result) {
    var all = (result.findings || []).length;
    if (!all) return "校验通过：没有发现问题。";
    var errors = count(result, "错误", "errors"), warnings = count(result, "警告", "warnings");
    return "校验完成：错误 " + errors + " 条、警告 " + warnings + " 条、提示 " + (all - errors - warnings) +
      " 条。有问题的单元格已标色并加批注（错误浅红、警告浅橙、提示浅黄），清单见“校验结果”表。";
  }

  function scoreSummary(result) {
    return "计算完成：总分 " + shown(result.total) + " 分，等级 " + (result.grade || "—") + "。公式已写回工作簿。";
  }

  function reportWritten(path) { return "已生成 Word 报告：" + path; }

  function reportInTemp(path) {
    return "本工作簿还没有保存到文件夹，报告已放在临时文件夹：" + path + "\n请把它另存到需要的位置。";
  }

  function submitted(r) {
    var parts = ["已正式报送：" + (r.dept || "") + " " + (r.year || "") + " 年度，第 " + r.version + " 版。",
                 "总分 " + shown(r.total) + " 分，等级 " + (r.grade || "—") + "。"];
    if (r.errors) parts.push("注意：仍有 " + r.errors + " 条错误，财政局审核时会看到。");
    return parts.join("\n");
  }

  function confirmSubmit(name) {
    return "确定把“" + name + "”正式报送给财政局吗？\n报送的是最近一次保存的内容，财政局会保存为新的一版。";
  }

  var NEED_SETTINGS = "还没有设置绩效自评服务的地址：请先点“设置”，填写单位信息化人员提供的服务地址和访问令牌。";
  var NO_WORKBOOK = "没有打开的工作簿：请先打开要自评的标准工作簿，再点按钮。";
  var SAVE_FIRST = "工作簿有未保存的修改：正式报送的是保存后的文件。请先保存（Ctrl+S），再点“正式报送”。";
  var SUBMIT_UNSAVED = "工作簿还没有保存到电脑上的文件夹：请先保存（Ctrl+S），再点“正式报送”。";
  var SNAPSHOT_USED = "（未能读取工作簿文件，已按屏幕上的内容校验。）";
  var SETTINGS_SAVED = "设置已保存。";
  var ASK_SERVER = "绩效自评服务的地址（例如 http://192.168.1.10:8000）：";
  var ASK_TOKEN = "访问令牌（由信息化人员用 perfxl user token 生成；留空表示不变）：";
  var BAD_SERVER = "服务地址应以 http:// 或 https:// 开头，例如 http://192.168.1.10:8000。设置未保存。";

  function unreachable(server, detail) {
    return "无法连接绩效自评服务 " + server + "：请确认网络已连接、服务地址填写正确（点“设置”可修改），" +
      "或联系单位信息化人员。" + (detail ? "\n（" + detail + "）" : "");
  }

  function httpError(status, serverMessage) {
    if (serverMessage) return serverMessage;
    if (status === 401) return "访问令牌无效或已过期：请点“设置”重新填写信息化人员提供的访问令牌。";
    if (status === 403) return "没有权限执行此操作：请联系单位信息化人员。";
    if (status === 413) return "工作簿太大，服务拒绝接收：请删除不需要的工作表或图片后重试。";
    return "绩效自评服务出错（HTTP " + status + "），本次操作未完成，工作簿未被修改。";
  }

  function internal(err) {
    return "perfxl 加载项出现内部错误，本次操作可能没有完成：" + (err && err.message ? err.message : String(err)) +
      "\n请把这段提示截图发给单位信息化人员。";
  }

  var HELP = [
    "“绩效自评”选项卡各按钮：",
    "",
    "校验数据：检查必填项、数字格式、合计与前后口径。有问题的单元格标色（错误浅红、警告浅橙、提示浅黄）并加批注，清单写入“校验结果”表。",
    "计算得分：计算各项比率和指标得分，把公式写回工作簿，显示总分和等级。",
    "生成报告：生成 Word 自评报告，放在本工作簿所在的文件夹。",
    "一键完成：依次校验、计算、生成报告。",
    "正式报送：把保存后的工作簿报送给财政局（财政局保存每一版）。",
    "设置：填写绩效自评服务的地址和访问令牌（只需一次）。",
    "",
    "工作簿要发送到单位的绩效自评服务处理，不需要在本机安装任何软件。",
    "perfxl 不会替您保存工作簿：检查结果后请自行保存（Ctrl+S）。",
    "只填写白色单元格；灰色单元格是公式，请勿改动。"
  ].join("\n");

  return {
    TITLE: TITLE, NOT_SAVED: NOT_SAVED, HELP: HELP, NEED_SETTINGS: NEED_SETTINGS, NO_WORKBOOK: NO_WORKBOOK,
    SAVE_FIRST: SAVE_FIRST, SUBMIT_UNSAVED: SUBMIT_UNSAVED, SNAPSHOT_USED: SNAPSHOT_USED,
    SETTINGS_SAVED: SETTINGS_SAVED, ASK_SERVER: ASK_SERVER, ASK_TOKEN: ASK_TOKEN, BAD_SERVER: BAD_SERVER,
    checkSummary: checkSummary, scoreSummary: scoreSummary, reportWritten: reportWritten,
    reportInTemp: reportInTemp, submitted: submitted, confirmSubmit: confirmSubmit,
    unreachable: unreachable, httpError: httpError, internal: internal, shown: shown
  };
});
