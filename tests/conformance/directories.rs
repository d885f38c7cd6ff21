//! Directories: the trailing-slash redirect, index pages, and the exact listing page
//! (escaped titles and entries, order, undecodable names).

use crate::common::fixture;
use crate::common::{self, contains, get, show};
use crate::support::{Env, assert_404, assert_listing, assert_ok_file, assert_redirect};

fn directory_redirect(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let cases = [
        ("/sub", "/sub/"),
        ("/sub?x=1", "/sub/?x=1"),
        ("/sub?x=1&y=%2F", "/sub/?x=1&y=%2F"),
        ("/sub#frag", "/sub/#frag"),
        ("/sub?x=1#f", "/sub/?x=1#f"),
        ("/sub?", "/sub/"),
        ("/sub/inner", "/sub/inner/"),
        ("/spaced%20dir", "/spaced%20dir/"),
        ("/emptydir", "/emptydir/"),
        ("/link-sub", "/link-sub/"),
        ("/idx", "/idx/"),
    ];
    for (target, location) in cases {
        let r = get(env.addr(), target);
        assert_redirect(&r, location);
    }
    env.finish();
}

fn directory_trailing_slash(rt: &'static str) {
    let env = Env::new(rt, &[]);
    for target in [
        "/sub/",
        "/sub%2f",
        "/sub%2F",
        "/",
        "/%2f",
        "/?hi=2",
        "/sub/?x=1",
        "/sub/#x",
    ] {
        assert_listing(&get(env.addr(), target), "HTTP/1.0");
    }
    // A file asked for with a trailing slash is not found.
    for target in ["/a.txt/", "/a.txt%2f", "/a.txt%2F", "/test/"] {
        assert_404(&get(env.addr(), target));
    }
    env.finish();
}

fn index_pages(rt: &'static str) {
    let env = Env::new(rt, &[]);
    assert_ok_file(
        &get(env.addr(), "/idx/"),
        "HTTP/1.0",
        "text/html",
        fixture::INDEX_HTML,
    );
    assert_ok_file(
        &get(env.addr(), "/idx/index.html"),
        "HTTP/1.0",
        "text/html",
        fixture::INDEX_HTML,
    );
    assert_ok_file(
        &get(env.addr(), "/idxm/"),
        "HTTP/1.0",
        "text/html",
        fixture::INDEX_HTM,
    );
    assert_ok_file(
        &get(env.addr(), "/both/"),
        "HTTP/1.0",
        "text/html",
        fixture::INDEX_HTML,
    );
    // A *directory* named index.html does not hide the listing (gh-100474).
    let r = get(env.addr(), "/dirindex/");
    assert_listing(&r, "HTTP/1.0");
    assert!(
        contains(&r.body, b"<li><a href=\"index.html/\">index.html/</a></li>"),
        "{}",
        r.describe()
    );
    assert!(
        contains(&r.body, b"<li><a href=\"other.txt\">other.txt</a></li>"),
        "{}",
        r.describe()
    );
    env.finish();
}

fn listing_exact(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let r = get(env.addr(), "/listing/");
    assert_listing(&r, "HTTP/1.0");
    assert_eq!(r.text(), fixture::LISTING_PAGE);
    assert_eq!(r.header("Last-Modified"), None);
    let r = get(env.addr(), "/emptydir/");
    assert_listing(&r, "HTTP/1.0");
    assert_eq!(r.text(), fixture::empty_listing("/emptydir/"));
    env.finish();
}

fn listing_titles_escaped(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let cases = [
        ("/spaced%20dir/", "/spaced dir/"),
        ("/%C3%BCn%C3%AF%20dir/", "/\u{fc}n\u{ef} dir/"),
        ("/%26%3Cdir%3E%22%27/", "/&amp;&lt;dir&gt;\"'/"),
        ("//emptydir/", "/emptydir/"),
    ];
    for (target, title) in cases {
        let r = get(env.addr(), target);
        assert_listing(&r, "HTTP/1.0");
        let want = format!("<title>Directory listing for {title}</title>");
        assert!(
            r.text().contains(&want),
            "GET {target}: want {want:?} in\n{}",
            r.text()
        );
        let want = format!("<h1>Directory listing for {title}</h1>");
        assert!(
            r.text().contains(&want),
            "GET {target}: want {want:?} in\n{}",
            r.text()
        );
    }
    env.finish();
}

fn listing_root_entries(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let r = get(env.addr(), "/");
    assert_listing(&r, "HTTP/1.0");
    let entries: &[&[u8]] = &[
        b"<li><a href=\"a.txt\">a.txt</a></li>",
        b"<li><a href=\"sub/\">sub/</a></li>",
        b"<li><a href=\"emptydir/\">emptydir/</a></li>",
        b"<li><a href=\"link-a.txt\">link-a.txt@</a></li>",
        b"<li><a href=\"link-sub/\">link-sub@</a></li>",
        b"<li><a href=\"dangling\">dangling@</a></li>",
        b"<li><a href=\"with%20space.txt\">with space.txt</a></li>",
        b"<li><a href=\"a%26b.txt\">a&amp;b.txt</a></li>",
        b"<li><a href=\"lt%3Cgt%3E.txt\">lt&lt;gt&gt;.txt</a></li>",
        b"<li><a href=\"quote%22dq%27sq.txt\">quote\"dq'sq.txt</a></li>",
        b"<li><a href=\"hash%23name.txt\">hash#name.txt</a></li>",
        b"<li><a href=\"q%3Fmark.txt\">q?mark.txt</a></li>",
        b"<li><a href=\"pct%2541.txt\">pct%41.txt</a></li>",
        b"<li><a href=\"%26%3Cdir%3E%22%27/\">&amp;&lt;dir&gt;\"'/</a></li>",
        "<li><a href=\"%C3%BCn%C3%AFc%C3%B6d%C3%A9.txt\">\u{fc}n\u{ef}c\u{f6}d\u{e9}.txt</a></li>"
            .as_bytes(),
        // Undecodable names: href by surrogatepass (U+DCFF -> ED B3 BF), text as the raw byte.
        b"<li><a href=\"bad%ED%B3%BFname.txt\">bad\xffname.txt</a></li>",
        b"<li><a href=\"bad%ED%B3%BEdir/\">bad\xfedir/</a></li>",
    ];
    let missing: Vec<String> = entries
        .iter()
        .filter(|e| !contains(&r.body, e))
        .map(|e| show(e))
        .collect();
    assert!(
        missing.is_empty(),
        "missing from / listing:\n{}\n--- page:\n{}",
        missing.join("\n"),
        show(&r.body)
    );
    // Case-insensitive order: a.txt < A... (both/ before big.bin before dangling ...).
    let pos = |needle: &str| common::find(&r.body, needle.as_bytes()).unwrap_or(usize::MAX);
    let order = [
        "\"a%26b.txt\"",
        "\"a.txt\"",
        "\"big.bin\"",
        "\"both/\"",
        "\"dangling\"",
        "\"emptydir/\"",
        "\"sub/\"",
        "\"test\"",
    ];
    for pair in order.windows(2) {
        assert!(
            pos(pair[0]) < pos(pair[1]),
            "{} must come before {} in\n{}",
            pair[0],
            pair[1],
            r.text()
        );
    }
    env.finish();
}

fn undecodable_names(rt: &'static str) {
    let env = Env::new(rt, &[]);
    let r = get(env.addr(), "/bad%ED%B3%BFname.txt");
    assert_eq!(
        (r.code, r.body.as_slice()),
        (200, b"undecodable name\n".as_slice()),
        "{}",
        r.describe()
    );
    let r = get(env.addr(), "/bad%ED%B3%BEdir/");
    assert_listing(&r, "HTTP/1.0");
    assert!(
        contains(&r.body, b"<a href=\"h.txt\">h.txt</a>"),
        "{}",
        r.describe()
    );
    assert_404(&get(env.addr(), "/bad%FFname.txt"));
    env.finish();
}

runtime_suite!([
    directory_redirect,
    directory_trailing_slash,
    index_pages,
    listing_exact,
    listing_titles_escaped,
    listing_root_entries,
    undecodable_names,
]);
