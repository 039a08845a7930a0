// keyed.js - updates a list in place: one element per item, kept while the
// item is unchanged, replaced when it changed (keeping focus on the same
// control), never replaced while the user edits it (class is-editing): such
// an element is marked stale and its staleHandler(item), if any, is called.

// reconcile(listEl, items, {key, render, sig}) - returns the elements that
// were added or replaced (for highlighting).
export function reconcile(listEl, items, { key, render, sig = (x) => JSON.stringify(x) }) {
    const old = new Map();
    for (const el of [...listEl.children]) old.set(el.dataset.key, el);
    const changed = [];
    const wanted = [];
    for (const item of items) {
        const k = String(key(item));
        const s = sig(item);
        let el = old.get(k);
        if (el && el.dataset.sig !== s && !el.classList.contains('is-editing')) {
            const focusKey = el.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
            const fresh = render(item);
            fresh.dataset.key = k;
            fresh.dataset.sig = s;
            el.replaceWith(fresh);
            el = fresh;
            changed.push({ el, item, isNew: false });
            if (focusKey) el.querySelector(`[data-focus="${CSS.escape(focusKey)}"]`)?.focus();
        } else if (!el) {
            el = render(item);
            el.dataset.key = k;
            el.dataset.sig = s;
            changed.push({ el, item, isNew: true });
        } else if (el.dataset.sig !== s) {
            // Being edited: kept as it is; its editor may tell the person.
            el.dataset.stale = 'true';
            if (typeof el.staleHandler === 'function') el.staleHandler(item);
        }
        old.delete(k);
        wanted.push(el);
    }
    for (const el of old.values()) el.remove();
    wanted.forEach((el, i) => {
        if (listEl.children[i] !== el) listEl.insertBefore(el, listEl.children[i] ?? null);
    });
    return changed;
}

// highlight(el) - a short, subtle background flash for live changes.
export function highlight(el) {
    el.classList.remove('is-fresh');
    // restart the animation
    void el.offsetWidth;
    el.classList.add('is-fresh');
    setTimeout(() => el.classList.remove('is-fresh'), 6000);
}
