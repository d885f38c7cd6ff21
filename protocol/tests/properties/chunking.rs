//! Chunking invariance: how the bytes are split into reads never changes what happens.

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::harness::{Path, bytewise, cuts_from, run};
use crate::strategies::{input, setup};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn events_do_not_depend_on_read_boundaries(
        setup in setup(),
        wire in input(),
        picks in vec(any::<Index>(), 0..12),
    ) {
        let whole = run(setup, &wire, &[], Path::Copy);
        let one_by_one = run(setup, &wire, &bytewise(wire.len()), Path::Copy);
        prop_assert_eq!(&whole, &one_by_one, "one byte at a time");
        let cuts = cuts_from(&picks, wire.len());
        prop_assert_eq!(&whole, &run(setup, &wire, &cuts, Path::Copy), "cut at {:?}", cuts);
        prop_assert_eq!(
            &whole,
            &run(setup, &wire, &cuts, Path::CopyFree),
            "recv_buf, cut at {:?}",
            cuts
        );
    }
}
