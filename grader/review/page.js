// The review page: KaTeX on every .math element, the TA's points per group (or per student) and comments,
// kept in the browser's localStorage while the page is open, and downloaded as a JSON marks file that
// `python -m grader --marks FILE` merges into the gradebooks. No server, no network.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("review-data").textContent);
  const storageKey = "hw3-review:" + data.batch + ":" + data.question;

  function typeset() {
    document.querySelectorAll(".math").forEach(function (el) {
      let tex = el.textContent.trim();
      const display = el.tagName === "DIV";
      tex = display ? tex.replace(/^\$\$/, "").replace(/\$\$$/, "") : tex.replace(/^\\\(/, "").replace(/\\\)$/, "");
      try {
        katex.render(tex, el, {displayMode: display, throwOnError: false, trust: false, strict: "ignore",
                               maxSize: 50, maxExpand: 500});
      } catch (error) {
        el.classList.add("math-error");
      }
    });
  }

  function number(input) {
    if (input.value.trim() === "") return null;
    const value = Number(input.value);
    return Number.isFinite(value) ? value : null;
  }

  function collect() {
    // one mark per student: the student's own points if set, else the group's
    const marks = [];
    document.querySelectorAll(".group").forEach(function (group) {
      const groupPoints = number(group.querySelector(".group-points"));
      const groupComment = group.querySelector(".group-comment").value;
      group.querySelectorAll(".student").forEach(function (row) {
        const own = number(row.querySelector(".student-points"));
        const ownComment = row.querySelector(".student-comment").value;
        const points = own !== null ? own : groupPoints;
        if (points === null) return;
        marks.push({student: row.dataset.student, question: data.question, group: group.dataset.group,
                    points: Math.max(0, Math.min(points, data.max_points)),
                    comment: ownComment || groupComment});
      });
    });
    return marks;
  }

  function refresh() {
    let marked = 0;
    document.querySelectorAll(".group").forEach(function (group) {
      const done = number(group.querySelector(".group-points")) !== null ||
        Array.from(group.querySelectorAll(".student-points")).every(function (i) { return number(i) !== null; });
      group.classList.toggle("marked", done);
      if (done) marked += 1;
    });
    document.getElementById("progress").textContent =
      marked + " of " + data.groups + " answers marked (" + collect().length + " of " + data.students + " students)";
  }

  function save() {
    const state = {};
    document.querySelectorAll("input, textarea").forEach(function (el) { if (el.id) state[el.id] = el.value; });
    try { localStorage.setItem(storageKey, JSON.stringify(state)); } catch (error) { /* private mode: no autosave */ }
    refresh();
  }

  function restore() {
    let state = null;
    try { state = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (error) { state = null; }
    if (!state) return;
    Object.keys(state).forEach(function (id) {
      const el = document.getElementById(id);
      if (el) el.value = state[id];
    });
  }

  function download() {
    const file = {kind: "hw3-review-marks", version: 1, batch: data.batch, question: data.question, marks: collect()};
    const blob = new Blob([JSON.stringify(file, null, 1)], {type: "application/json"});
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "marks-" + data.question + ".json";
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  typeset();
  restore();
  document.querySelectorAll("input, textarea").forEach(function (el) { el.addEventListener("input", save); });
  document.querySelectorAll(".full-marks").forEach(function (button) {
    button.addEventListener("click", function () {
      button.closest(".group").querySelector(".group-points").value = data.max_points;
      save();
    });
  });
  document.getElementById("download").addEventListener("click", download);
  refresh();
})();
