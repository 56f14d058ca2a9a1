//! The patterns: a stable id, a name, why each is dangerous, and what to do instead.

/// One pattern of swallowed error.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// Stable id, `LANGUAGE.NAME`.
    pub id: &'static str,
    /// What the pattern is, in a few words.
    pub name: &'static str,
    /// Why it is dangerous, in one line.
    pub why: &'static str,
    /// What to do instead, in one line.
    pub help: &'static str,
}

const fn r(id: &'static str, name: &'static str, why: &'static str, help: &'static str) -> Rule {
    Rule { id, name, why, help }
}

const EMPTY_HANDLER: &str = "An empty handler makes the failure vanish: nothing is logged and the program goes on as if the call had succeeded.";
const COMMENT_ONLY: &str = "A comment does not handle the error: it vanishes without a trace, and nobody reading the logs can know it happened.";
const CONSOLE_ONLY: &str = "Printing to the console is not reporting: the error is lost in production logs while the program goes on as if nothing failed.";
const LOG_LOW: &str = "Logging an error below warning hides it where nobody looks, and the program goes on as if nothing failed.";
const BROAD: &str = "Catching every exception and neither re-raising nor reporting it hides bugs along with the failure it was meant for.";
const HANDLE: &str = "Re-raise, wrap with context, log at warning or error, or return the error to the caller; if it is truly harmless, say why with `firebreak: allow-swallow REASON`.";

/// Every pattern the scanner knows, by language.
pub const RULES: &[Rule] = &[
    r(
        "python.broad-except-pass",
        "bare or `except Exception` handler that only passes",
        "A broad handler that only passes swallows every error, bugs included, and even `KeyboardInterrupt` when bare.",
        HANDLE,
    ),
    r("python.except-pass", "except handler that only passes", EMPTY_HANDLER, HANDLE),
    r(
        "python.except-continue",
        "broad except handler that only continues",
        "Skipping to the next iteration on any exception drops failures silently, a loop that fails on every item looks like one that succeeded.",
        HANDLE,
    ),
    r("python.except-log-low", "except handler that only logs at debug or info", LOG_LOW, HANDLE),
    r(
        "python.bare-except",
        "bare `except:` that does not re-raise",
        "A bare `except:` also catches `KeyboardInterrupt` and `SystemExit`, and without a re-raise the process cannot even be stopped cleanly.",
        HANDLE,
    ),
    r(
        "python.broad-except-unreported",
        "`except Exception` that neither re-raises nor reports",
        BROAD,
        HANDLE,
    ),
    r(
        "python.suppress-broad",
        "`contextlib.suppress(Exception)`",
        "`suppress(Exception)` is an `except Exception: pass` in disguise: every error in the block vanishes.",
        "Suppress only the exceptions you expect, such as `FileNotFoundError`.",
    ),
    r("javascript.empty-catch", "empty catch block", EMPTY_HANDLER, HANDLE),
    r("javascript.comment-only-catch", "catch block with only a comment", COMMENT_ONLY, HANDLE),
    r("javascript.catch-console-only", "catch block that only writes to the console", CONSOLE_ONLY, HANDLE),
    r(
        "javascript.promise-catch-empty",
        "`.catch(() => {})`",
        "A no-op rejection handler turns every failure of the promise into a silent success.",
        HANDLE,
    ),
    r(
        "javascript.promise-catch-null",
        "`.catch(() => null)` or `undefined`",
        "Resolving a rejected promise to null or undefined hides the failure and moves the crash to wherever the value is used.",
        HANDLE,
    ),
    r(
        "javascript.promise-then-empty-rejection",
        "`.then(f, () => {})`",
        "A no-op rejection handler passed to `.then` swallows the failure of the promise.",
        HANDLE,
    ),
    r("typescript.empty-catch", "empty catch block", EMPTY_HANDLER, HANDLE),
    r("typescript.comment-only-catch", "catch block with only a comment", COMMENT_ONLY, HANDLE),
    r("typescript.catch-console-only", "catch block that only writes to the console", CONSOLE_ONLY, HANDLE),
    r(
        "typescript.promise-catch-empty",
        "`.catch(() => {})`",
        "A no-op rejection handler turns every failure of the promise into a silent success.",
        HANDLE,
    ),
    r(
        "typescript.promise-catch-null",
        "`.catch(() => null)` or `undefined`",
        "Resolving a rejected promise to null or undefined hides the failure and moves the crash to wherever the value is used.",
        HANDLE,
    ),
    r(
        "typescript.promise-then-empty-rejection",
        "`.then(f, () => {})`",
        "A no-op rejection handler passed to `.then` swallows the failure of the promise.",
        HANDLE,
    ),
    r("java.empty-catch", "empty catch block", EMPTY_HANDLER, HANDLE),
    r("java.comment-only-catch", "catch block with only a comment", COMMENT_ONLY, HANDLE),
    r(
        "java.print-stack-trace-only",
        "catch block that only calls `printStackTrace()`",
        "`printStackTrace()` writes to stderr, outside the logs, and the program goes on as if nothing failed.",
        HANDLE,
    ),
    r("java.catch-log-low", "catch block that only logs at debug, trace or info", LOG_LOW, HANDLE),
    r(
        "java.broad-catch-unreported",
        "`catch (Exception|Throwable)` that neither rethrows nor reports",
        BROAD,
        HANDLE,
    ),
    r(
        "java.interrupted-swallowed",
        "`InterruptedException` swallowed without re-interrupting",
        "Swallowing `InterruptedException` clears the thread's interrupt flag, so the thread can no longer be cancelled or shut down.",
        "Call `Thread.currentThread().interrupt()` in the handler, or rethrow.",
    ),
    r(
        "go.blank-assign-call",
        "`_ = f()` discards a call's result",
        "Assigning a call's result to `_` discards the error it returns: the failure goes unnoticed.",
        "Check the error: `if err := f(); err != nil { ... }`.",
    ),
    r(
        "go.blank-error-result",
        "`x, _ := f()` discards the last result",
        "The blank in the last position discards the error: `x` is then a zero value nobody knows is wrong.",
        "Check the error and return it wrapped: `fmt.Errorf(\"...: %w\", err)`.",
    ),
    r(
        "go.empty-err-check",
        "`if err != nil {}` with an empty body",
        "An empty `if err != nil` block checks the error and then ignores it.",
        "Return the error, wrapped with context, or log it.",
    ),
    r(
        "go.err-return-nil",
        "`if err != nil { return nil }`",
        "Returning nil inside `if err != nil` reports success to the caller for a call that failed.",
        "Return the error: `return fmt.Errorf(\"...: %w\", err)`.",
    ),
    r(
        "go.err-unread",
        "`err` assigned and never read",
        "The error is assigned and then overwritten or forgotten before anyone checks it.",
        "Check `err` right after the call that sets it.",
    ),
    r(
        "rust.let-underscore-result",
        "`let _ = f()` on a call's result",
        "`let _ =` discards the `Result` a call returns, so its failure goes unnoticed.",
        "Propagate with `?`, handle the `Err`, or log it; if truly harmless, say why.",
    ),
    r(
        "rust.ok-discarded",
        "`.ok();` as a statement",
        "`.ok();` turns a `Result` into an `Option` and drops it: the error vanishes without a trace.",
        "Propagate with `?` or handle the `Err`.",
    ),
    r(
        "rust.unwrap-or-default-io",
        "`unwrap_or_default()` on fallible I/O",
        "Defaulting on an I/O failure makes a missing or unreadable file look like an empty one.",
        "Propagate the error with context, or match the `ErrorKind` you expect.",
    ),
    r(
        "rust.empty-if-let-err",
        "`if let Err(_) = … {}` with an empty body",
        "An empty `if let Err` block matches the error and then ignores it.",
        "Handle, log or propagate the error.",
    ),
    r(
        "rust.empty-err-arm",
        "`Err(_) => {}` match arm",
        "An `Err` arm that does nothing swallows the failure.",
        "Handle, log or propagate the error.",
    ),
    r(
        "rust.unwrap-or-unit",
        "`.unwrap_or(())`",
        "`.unwrap_or(())` throws the error away, the same as an empty `Err` arm.",
        "Propagate with `?` or handle the `Err`.",
    ),
    r("csharp.empty-catch", "empty catch block", EMPTY_HANDLER, HANDLE),
    r("csharp.comment-only-catch", "catch block with only a comment", COMMENT_ONLY, HANDLE),
    r(
        "csharp.catch-console-only",
        "catch block that only writes to the console or debugger",
        CONSOLE_ONLY,
        HANDLE,
    ),
    r("csharp.catch-log-low", "catch block that only logs at debug, trace or information", LOG_LOW, HANDLE),
    r(
        "csharp.broad-catch-unreported",
        "`catch (Exception)` that neither rethrows nor reports",
        BROAD,
        HANDLE,
    ),
];

/// The rule with id `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.id == id)
}
