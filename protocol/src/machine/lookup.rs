//! [`ROWS`] compiled, at build time, into the tables [`Machine::step`] reads. Building them
//! also checks the table: a second row for the same state and input, or a row whose two
//! states are on different sides, fails the build.
//!
//! [`Machine::step`]: super::Machine::step

use super::{ConnState, Input, Phase, ROWS, Side};
use crate::state::{ReadState, WriteState};
use ConnState as C;
use ReadState as R;
use WriteState as W;

/// How many states the three sides have together.
const PHASES: usize = Phase::ALL.len();

/// A state's row in [`NEXT`]: its place in [`Phase::ALL`].
const fn index(phase: Phase) -> usize {
    match phase {
        Phase::Read(R::Head) => 0,
        Phase::Read(R::Body) => 1,
        Phase::Read(R::Discard) => 2,
        Phase::Read(R::Done) => 3,
        Phase::Read(R::Closed) => 4,
        Phase::Write(W::Idle) => 5,
        Phase::Write(W::Pending) => 6,
        Phase::Write(W::Body) => 7,
        Phase::Write(W::Finished) => 8,
        Phase::Write(W::Closed) => 9,
        Phase::Conn(C::Open) => 10,
        Phase::Conn(C::Lingering) => 11,
        Phase::Conn(C::Closed) => 12,
    }
}

/// Every row, by state ([`index`]) and input: `NEXT[state][input]` is where `input` leads
/// from `state`, `None` when that is a bug. A side without rows for an input keeps its state.
const NEXT: [[Option<Phase>; Input::ALL.len()]; PHASES] = lookup_table();

const fn lookup_table() -> [[Option<Phase>; Input::ALL.len()]; PHASES] {
    let mut next = [[None; Input::ALL.len()]; PHASES];
    let mut p = 0;
    while p < PHASES {
        assert!(index(Phase::ALL[p]) == p, "Phase::ALL is out of order");
        let mut i = 0;
        while i < Input::ALL.len() {
            assert!(Input::ALL[i] as usize == i, "Input::ALL is out of order");
            if !has_rows(Phase::ALL[p].side(), Input::ALL[i]) {
                next[p][i] = Some(Phase::ALL[p]);
            }
            i += 1;
        }
        p += 1;
    }
    let mut n = 0;
    while n < ROWS.len() {
        let row = ROWS[n];
        let i = row.input as usize;
        if let Some(from) = row.from {
            assert!(
                from.side() as u8 == row.to.side() as u8,
                "a row changes sides"
            );
            assert!(next[index(from)][i].is_none(), "two rows for one state");
            next[index(from)][i] = Some(row.to);
        } else {
            let mut p = 0;
            while p < PHASES {
                if Phase::ALL[p].side() as u8 == row.to.side() as u8 {
                    assert!(next[p][i].is_none(), "two rows for one state");
                    next[p][i] = Some(row.to);
                }
                p += 1;
            }
        }
        n += 1;
    }
    next
}

/// One side's part of [`NEXT`] in the side's own state type, indexed by the state's
/// discriminant: a byte per cell (`None` is the type's spare niche), so a step reads one
/// byte per side and decodes nothing.
macro_rules! side_table {
    ($vis:vis $name:ident, $state:ty, $variant:ident, $count:expr) => {
        $vis const $name: [[Option<$state>; Input::ALL.len()]; $count] = {
            let mut table = [[None; Input::ALL.len()]; $count];
            let mut s = 0;
            while s < $count {
                let Phase::$variant(state) =
                    Phase::ALL[OFFSET_OF_SIDE[Side::$variant as usize] + s]
                else {
                    panic!("Phase::ALL is out of order");
                };
                assert!(
                    state as usize == s,
                    "a state's discriminant is not its index"
                );
                let mut i = 0;
                while i < Input::ALL.len() {
                    table[s][i] = match NEXT[index(Phase::$variant(state))][i] {
                        Some(Phase::$variant(to)) => Some(to),
                        _ => None,
                    };
                    i += 1;
                }
                s += 1;
            }
            table
        };
    };
}

/// Where each side's states begin in [`Phase::ALL`].
const OFFSET_OF_SIDE: [usize; 3] = [0, 5, 10];

side_table!(pub(super) READ_NEXT, ReadState, Read, 5);
side_table!(pub(super) WRITE_NEXT, WriteState, Write, 5);
side_table!(pub(super) CONN_NEXT, ConnState, Conn, 3);

/// Which sides (read, write, conn) have rows for each input. Call sites pass constant
/// inputs, so after inlining the compiler can drop the lookups of the sides an input
/// leaves alone.
pub(super) const MOVES: [[bool; 3]; Input::ALL.len()] = {
    let mut moves = [[false; 3]; Input::ALL.len()];
    let mut i = 0;
    while i < Input::ALL.len() {
        moves[i] = [
            has_rows(Side::Read, Input::ALL[i]),
            has_rows(Side::Write, Input::ALL[i]),
            has_rows(Side::Conn, Input::ALL[i]),
        ];
        i += 1;
    }
    moves
};

/// Whether `side` has any row for `input`.
const fn has_rows(side: Side, input: Input) -> bool {
    let mut n = 0;
    while n < ROWS.len() {
        if ROWS[n].input as usize == input as usize && ROWS[n].to.side() as u8 == side as u8 {
            return true;
        }
        n += 1;
    }
    false
}
