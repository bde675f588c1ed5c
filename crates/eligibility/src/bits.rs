//! Row bitmaps: bit `r % 64` of word `r / 64` is row `r`.

#[inline]
pub(crate) fn words(len: usize) -> usize {
    len.div_ceil(64)
}

pub(crate) fn zeros(len: usize) -> Vec<u64> {
    vec![0; words(len)]
}

/// Every row of a population of `len` rows (no bits past the end).
pub(crate) fn ones(len: usize) -> Vec<u64> {
    let mut v = vec![u64::MAX; words(len)];
    if !len.is_multiple_of(64)
        && let Some(last) = v.last_mut()
    {
        *last = (1u64 << (len % 64)) - 1;
    }
    v
}

#[inline]
pub(crate) fn get(b: &[u64], row: usize) -> bool {
    b.get(row / 64).is_some_and(|w| w & (1 << (row % 64)) != 0)
}

#[inline]
pub(crate) fn set(b: &mut [u64], row: usize) {
    if let Some(w) = b.get_mut(row / 64) {
        *w |= 1 << (row % 64);
    }
}

#[inline]
pub(crate) fn clear(b: &mut [u64], row: usize) {
    if let Some(w) = b.get_mut(row / 64) {
        *w &= !(1 << (row % 64));
    }
}

pub(crate) fn count(b: &[u64]) -> usize {
    b.iter().map(|w| w.count_ones() as usize).sum()
}

pub(crate) fn is_empty(b: &[u64]) -> bool {
    b.iter().all(|&w| w == 0)
}

/// Calls `f(row)` for every set bit, in row order.
#[inline]
pub(crate) fn for_each(b: &[u64], mut f: impl FnMut(usize)) {
    for (wi, &w) in b.iter().enumerate() {
        let mut w = w;
        while w != 0 {
            let t = w.trailing_zeros() as usize;
            f(wi * 64 + t);
            w &= w - 1;
        }
    }
}

/// The set rows as a list.
pub(crate) fn rows(b: &[u64]) -> Vec<u32> {
    let mut out = Vec::with_capacity(count(b));
    for_each(b, |r| out.push(r as u32));
    out
}
