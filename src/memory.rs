//! Memory goes back to the system after a burst.
//!
//! Two things kept a process at its peak after thousands of connections came
//! and went:
//!
//! - **Pinned read buffers.** actix keeps up to 256 request heads per worker
//!   for reuse (its own pool and actix-web's), and a pooled head keeps its
//!   last headers until it is reused. actix parses header values as slices of
//!   the connection's read buffer, so each pooled head pinned a whole
//!   buffer of a connection long closed, for good. [`own_headers`] gives every request's headers their
//!   own small copies, so a pooled head holds only what it is.
//! - **Fragmentation.** The pooled heads themselves are allocated at the
//!   peak, scattered through it. Under glibc's malloc each kept its page of
//!   the arena resident, even with `malloc_trim` every few seconds. The
//!   binary therefore runs on jemalloc (`main.rs`), whose background thread
//!   returns unused pages within [`JEMALLOC_CONF`]'s decay time.
//!   `docs/BENCHMARKS.md` has the runs (P6).

use std::ffi::CStr;

use actix_web::dev::ServiceRequest;
use actix_web::http::header::{HeaderMap, HeaderValue};

/// jemalloc's options, read once at start-up (handed over by [`use_jemalloc`]).
/// Freed pages go back to the system about a second after they were last
/// used rather than jemalloc's default ten: after a burst the process is
/// back near its baseline within two seconds, at no measurable CPU cost
/// (docs/BENCHMARKS.md, P1).
pub const JEMALLOC_CONF: &CStr = c"dirty_decay_ms:1000";

#[cfg(not(target_env = "msvc"))]
pub use tikv_jemallocator::Jemalloc;

/// Makes jemalloc, with [`JEMALLOC_CONF`], the allocator of the crate it is
/// invoked in: the binary (`main.rs`), and the benchmarks that run the
/// service in-process, so they measure it as it ships. jemalloc reads its
/// options from the `_rjem_malloc_conf` symbol before `main`.
#[macro_export]
macro_rules! use_jemalloc {
    () => {
        #[cfg(not(target_env = "msvc"))]
        #[global_allocator]
        static ALLOCATOR: $crate::memory::Jemalloc = $crate::memory::Jemalloc;

        #[cfg(not(target_env = "msvc"))]
        #[unsafe(export_name = "_rjem_malloc_conf")]
        static JEMALLOC_CONF: Option<&std::ffi::c_char> =
            // SAFETY: the pointer is to a static NUL-terminated string.
            Some(unsafe { &*$crate::memory::JEMALLOC_CONF.as_ptr() });
    };
}

/// Replaces `req`'s headers with copies that share nothing with the
/// connection's read buffer, in a map sized to them (see the module docs).
pub fn own_headers(req: &mut ServiceRequest) {
    let mut owned = HeaderMap::with_capacity(req.headers().len_keys());
    for (name, value) in req.headers().iter() {
        // A value the copy refuses (actix accepted it unchecked) stays shared:
        // the request must see exactly what the client sent.
        let copy = HeaderValue::from_bytes(value.as_bytes()).unwrap_or_else(|_| value.clone());
        owned.append(name.clone(), copy);
    }
    *req.headers_mut() = owned;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use actix_web::http::header::HeaderName;
    use actix_web::test::TestRequest;
    use actix_web::web::Bytes;

    use super::*;

    /// Header values that were slices of one buffer (as actix parses them)
    /// come out equal, in the same order, and outside that buffer.
    #[test]
    fn headers_stop_sharing_the_read_buffer() {
        let buffer = Bytes::from_static(b"application/json; charset=utf-8|a|b");
        let shared = |from, to| HeaderValue::from_maybe_shared(buffer.slice(from..to)).unwrap();
        let accept = HeaderName::from_static("accept");
        let mut req = TestRequest::default()
            .insert_header(("content-type", shared(0, 31)))
            .append_header((accept.clone(), shared(32, 33)))
            .append_header((accept.clone(), shared(34, 35)))
            .to_srv_request();
        let inside = |v: &HeaderValue| buffer.as_ptr_range().contains(&v.as_bytes().as_ptr());
        assert!(req.headers().iter().all(|(_, v)| inside(v)));

        own_headers(&mut req);

        let h = req.headers();
        assert_eq!(
            h.get("content-type").unwrap(),
            "application/json; charset=utf-8"
        );
        let accepts: Vec<_> = h.get_all(&accept).collect();
        assert_eq!(accepts, ["a", "b"]);
        assert_eq!(h.len(), 3);
        assert!(
            h.iter().all(|(_, v)| !inside(v)),
            "a value still points into the buffer"
        );
    }
}
