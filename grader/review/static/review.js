// Keyboard use of the review page; the keys are listed at the foot of every page.
"use strict";

function go(id) {
  const link = document.getElementById(id);
  if (link) link.click();
}

function useComment(text) {
  const box = document.getElementById("comment");
  if (!box) return;
  box.value = box.value.trim() ? box.value.trim() + " " + text : text;
  box.focus();
}

// On the list of questions, Enter starts the first one with students left to review.
const pending = document.querySelector("a.start[data-pending]");
if (pending && !document.getElementById("review")) pending.focus();

document.querySelectorAll("[data-comment]").forEach((button) => {
  button.addEventListener("click", () => useComment(button.dataset.text));
});

document.addEventListener("keydown", (event) => {
  const review = document.getElementById("review");
  const typing = event.target.matches("input, textarea, select");
  if (typing) {
    if (event.key === "Escape") {
      event.target.blur();
      event.preventDefault();
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && review) {
      review.requestSubmit();
      event.preventDefault();
    }
    return; // Enter in the points box submits the form by itself
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const links = { j: "next", ArrowRight: "next", k: "prev", ArrowLeft: "prev", n: "names", u: "home" };
  if (links[event.key]) {
    go(links[event.key]);
  } else if (event.key === "p" || event.key === "c") {
    const box = document.getElementById(event.key === "p" ? "points" : "comment");
    if (box) box.focus();
  } else if (/^[1-9]$/.test(event.key)) {
    const button = document.querySelector(`[data-comment="${event.key}"]`);
    if (button) useComment(button.dataset.text);
  } else if (event.key === "f") {
    const flag = document.getElementById("flag");
    if (flag) flag.requestSubmit();
  } else if (event.key === "a") {
    go("confirm");
  } else {
    return;
  }
  event.preventDefault();
});
