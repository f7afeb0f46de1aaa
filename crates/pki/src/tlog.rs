//! A tamper-evident, append-only log: the Merkle tree of RFC 6962 / RFC 9162 §2.1, its
//! inclusion and consistency proofs, and signed checkpoints (C2SP `tlog-checkpoint` in a C2SP
//! `signed-note`, see [`Checkpoint`] and [`SignedNote`]).
//!
//! ```text
//! MTH({})       = SHA-256()                                   -- RFC 9162 §2.1.1
//! MTH({d(0)})   = SHA-256(0x00 || d(0))
//! MTH(D[n])     = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))  -- k: largest power of 2 < n
//! ```
//!
//! **Storage.** A log of millions of records cannot rehash every leaf for each proof. Every
//! hash a proof or a root needs is the hash of a *perfect* subtree — `2^level` leaves starting
//! at a multiple of `2^level` — and such a node never changes once its last leaf is appended.
//! The service behind the log implements [`NodeSource`] (level 0 = leaf hashes, higher levels =
//! the stored perfect-subtree hashes); on each append it persists what [`new_nodes`] returns
//! (at most 63 nodes, on average one). A root or a proof then reads `O(log n)` nodes.
//! [`MemoryTree`] is the in-memory implementation (tests, offline bundle checks).
//!
//! Pure: no I/O, no clock.

use core::fmt;

mod note;

pub use note::{
    key_hash, Checkpoint, Ed25519NoteKey, NoteError, NoteSignature, NoteSigner, NoteVerifier, SignedNote, MAX_NOTE_LEN,
    MAX_NOTE_SIGNATURES,
};

/// A SHA-256 tree hash.
pub type Hash = [u8; 32];

/// Longest proof a tree of at most `2^64 - 1` leaves can need (a consistency proof may hold
/// one hash more than the tree height).
pub const MAX_PROOF_LEN: usize = 65;

/// The root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41,
    0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// `SHA-256(0x00 || data)` — the hash of one log entry (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(&[0x00]);
    ctx.update(data);
    to_hash(ctx.finish().as_ref())
}

/// `SHA-256(0x01 || left || right)` — an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    ctx.update(&[0x01]);
    ctx.update(left);
    ctx.update(right);
    to_hash(ctx.finish().as_ref())
}

fn to_hash(bytes: &[u8]) -> Hash {
    let mut h = [0u8; 32];
    h.copy_from_slice(bytes);
    h
}

/// Where the tree's node hashes live.
///
/// `node(level, index)` is the hash of the perfect subtree of leaves
/// `[index·2^level, (index+1)·2^level)`: level 0 is the leaf hashes. The tree functions ask only
/// for nodes whose last leaf is below the tree size they were given.
pub trait NodeSource {
    /// A storage failure.
    type Error;
    /// The hash of the perfect subtree `(level, index)`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        (**self).node(level, index)
    }
}

/// A tree request could not be served.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TreeError<E> {
    /// The node source failed.
    Source(E),
    /// The leaf index is not below the tree size.
    IndexOutOfRange {
        /// The leaf asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked from a larger to a smaller tree.
    SizesOutOfOrder {
        /// The older size.
        first: u64,
        /// The newer size.
        second: u64,
    },
}

impl<E: fmt::Display> fmt::Display for TreeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TreeError::Source(e) => write!(f, "tree storage: {e}"),
            TreeError::IndexOutOfRange { index, size } => write!(f, "leaf {index} is not in a tree of {size}"),
            TreeError::SizesOutOfOrder { first, second } => {
                write!(f, "no consistency proof from size {first} to the smaller size {second}")
            }
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TreeError<E> {}

/// The perfect subtrees `(level, index)` that make up the leaves `[start, end)`, left to right.
///
/// `start` must be a multiple of the largest power of two not above `end - start` (true of
/// every range the RFC 9162 recursion visits).
fn decompose(start: u64, end: u64) -> impl Iterator<Item = (u8, u64)> {
    let mut pos = start;
    core::iter::from_fn(move || {
        if pos >= end {
            return None;
        }
        let level = 63 - (end - pos).leading_zeros() as u8;
        let item = (level, pos >> level);
        pos += 1u64 << level;
        Some(item)
    })
}

/// `MTH(D[start:end])` for a range the RFC 9162 recursion visits.
fn range_hash<S: NodeSource>(source: &S, start: u64, end: u64) -> Result<Hash, TreeError<S::Error>> {
    if start == end {
        return Ok(EMPTY_ROOT);
    }
    let nodes: Vec<Hash> =
        decompose(start, end).map(|(l, i)| source.node(l, i)).collect::<Result<_, _>>().map_err(TreeError::Source)?;
    let mut iter = nodes.into_iter().rev();
    let mut acc = iter.next().unwrap_or(EMPTY_ROOT);
    for left in iter {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The root hash of the first `size` leaves.
pub fn root<S: NodeSource>(source: &S, size: u64) -> Result<Hash, TreeError<S::Error>> {
    range_hash(source, 0, size)
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
pub fn inclusion_proof<S: NodeSource>(source: &S, index: u64, size: u64) -> Result<Vec<Hash>, TreeError<S::Error>> {
    if index >= size {
        return Err(TreeError::IndexOutOfRange { index, size });
    }
    // PATH(m, D[start:end]), iteratively from the top; the proof lists the bottom sibling first.
    let (mut start, mut end, mut path) = (0u64, size, Vec::new());
    while end - start > 1 {
        let k = split(end - start);
        if index < start + k {
            path.push(range_hash(source, start + k, end)?);
            end = start + k;
        } else {
            path.push(range_hash(source, start, start + k)?);
            start += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof between the trees of `first` and `second` leaves (RFC 9162 §2.1.4.1).
///
/// Empty when `first` is 0 or equals `second`.
pub fn consistency_proof<S: NodeSource>(source: &S, first: u64, second: u64) -> Result<Vec<Hash>, TreeError<S::Error>> {
    if first > second {
        return Err(TreeError::SizesOutOfOrder { first, second });
    }
    if first == 0 || first == second {
        return Ok(Vec::new());
    }
    // SUBPROOF(m, D[start:end], b), iteratively from the top.
    let (mut m, mut start, mut end, mut whole, mut proof) = (first, 0u64, second, true, Vec::new());
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(range_hash(source, start, end)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            proof.push(range_hash(source, start + k, end)?);
            end = start + k;
        } else {
            proof.push(range_hash(source, start, start + k)?);
            start += k;
            m -= k;
            whole = false;
        }
    }
    proof.reverse();
    Ok(proof)
}

/// The perfect-subtree nodes that become complete when leaf `index` (hash `leaf`) is appended:
/// `(level, index, hash)` for level ≥ 1, bottom up. Their left halves are read from `source`
/// (the nodes of the tree of `index` leaves). The storage persists them with the leaf.
pub fn new_nodes<S: NodeSource>(source: &S, index: u64, leaf: Hash) -> Result<Vec<(u8, u64, Hash)>, S::Error> {
    let mut out = Vec::new();
    let (mut level, mut pos, mut hash) = (0u8, index, leaf);
    while pos & 1 == 1 {
        let left = source.node(level, pos - 1)?;
        hash = node_hash(&left, &hash);
        level += 1;
        pos >>= 1;
        out.push((level, pos, hash));
    }
    Ok(out)
}

/// A proof did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf {index} is not in a tree of {size}")]
    IndexOutOfRange {
        /// The leaf.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The first tree is larger than the second.
    #[error("tree size {first} is larger than {second}")]
    SizesOutOfOrder {
        /// The older size.
        first: u64,
        /// The newer size.
        second: u64,
    },
    /// The proof has the wrong number of hashes for the sizes.
    #[error("the proof has the wrong number of hashes ({len})")]
    WrongLength {
        /// Its length.
        len: usize,
    },
    /// The recomputed root is not the expected root.
    #[error("the proof leads to another root")]
    RootMismatch,
}

/// Verifies an inclusion proof exactly as RFC 9162 §2.1.3.2.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    if proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(ProofError::WrongLength { len: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies a consistency proof exactly as RFC 9162 §2.1.4.2.
///
/// The RFC's algorithm covers `0 < first < second`; the edge cases follow from the definition:
/// `first == second` needs an empty proof and equal roots, `first == 0` an empty proof (every
/// tree extends the empty one).
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::SizesOutOfOrder { first, second });
    }
    if first == second || first == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { len: proof.len() });
        }
        if first == second && first_root != second_root {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    // 1. An empty path fails.
    if proof.is_empty() || proof.len() > MAX_PROOF_LEN {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    // 2. If first is an exact power of 2, prepend first_hash.
    let mut path = proof.iter();
    let prepended = [*first_root];
    let mut path: Box<dyn Iterator<Item = &Hash>> =
        if first.is_power_of_two() { Box::new(prepended.iter().chain(&mut path)) } else { Box::new(path) };
    // 3.–4.
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // 5.
    let start = *path.next().ok_or(ProofError::WrongLength { len: proof.len() })?;
    let (mut fr, mut sr) = (start, start);
    // 6.
    for c in path {
        if sn == 0 {
            return Err(ProofError::WrongLength { len: proof.len() });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // 7.
    if sn != 0 {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    if fr != *first_root || sr != *second_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// A tree held in memory: every perfect-subtree node, level by level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

/// [`MemoryTree`] was asked for a node it does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no node ({level}, {index}) in the tree")]
pub struct MissingNode {
    /// The level asked for.
    pub level: u8,
    /// The index asked for.
    pub index: u64,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    /// A tree of these leaf hashes.
    pub fn from_leaf_hashes(leaves: impl IntoIterator<Item = Hash>) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for leaf in leaves {
            tree.push_leaf_hash(leaf);
        }
        tree
    }

    /// How many leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends an entry (hashing it as a leaf); returns its index.
    pub fn push(&mut self, data: &[u8]) -> u64 {
        self.push_leaf_hash(leaf_hash(data))
    }

    /// Appends a leaf hash; returns its index.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        // Every left sibling of a new node is already complete in this tree: no error.
        let nodes = new_nodes(self, index, leaf).unwrap_or_default();
        self.put(0, leaf);
        for (level, _, hash) in nodes {
            self.put(level, hash);
        }
        index
    }

    fn put(&mut self, level: u8, hash: Hash) {
        let level = usize::from(level);
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        self.levels[level].push(hash);
    }

    /// The root of the whole tree.
    pub fn root(&self) -> Hash {
        root(self, self.size()).unwrap_or(EMPTY_ROOT)
    }
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;
    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        self.levels
            .get(usize::from(level))
            .and_then(|l| usize::try_from(index).ok().and_then(|i| l.get(i)))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn h(hex: &str) -> Hash {
        to_hash(&hex::decode(hex).unwrap())
    }

    /// The RFC 6962 test leaves of transparency-dev/merkle `testonly.LeafInputs`.
    fn leaves() -> Vec<Vec<u8>> {
        ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"]
            .iter()
            .map(|x| hex::decode(x).unwrap())
            .collect()
    }

    /// `testonly.RootHashes`, sizes 1..=8.
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn tree(n: usize) -> MemoryTree {
        let mut t = MemoryTree::new();
        for l in &leaves()[..n] {
            t.push(l);
        }
        t
    }

    /// Straight from the RFC 9162 definitions, recursively, for cross-checking.
    fn reference_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
            }
        }
    }

    fn reference_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n == 1 {
            return vec![];
        }
        let k = split(n as u64) as usize;
        if m < k {
            let mut p = reference_path(m, &leaves[..k]);
            p.push(reference_root(&leaves[k..]));
            p
        } else {
            let mut p = reference_path(m - k, &leaves[k..]);
            p.push(reference_root(&leaves[..k]));
            p
        }
    }

    fn reference_subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if b { vec![] } else { vec![reference_root(leaves)] };
        }
        let k = split(n as u64) as usize;
        if m <= k {
            let mut p = reference_subproof(m, &leaves[..k], b);
            p.push(reference_root(&leaves[k..]));
            p
        } else {
            let mut p = reference_subproof(m - k, &leaves[k..], false);
            p.push(reference_root(&leaves[..k]));
            p
        }
    }

    #[test]
    fn roots_match_the_rfc6962_reference_vectors() {
        assert_eq!(MemoryTree::new().root(), EMPTY_ROOT);
        assert_eq!(EMPTY_ROOT, to_hash(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"").as_ref()));
        for n in 1..=8 {
            assert_eq!(tree(n).root(), h(ROOTS[n - 1]), "size {n}");
            // Every smaller root from the same storage.
            let t = tree(8);
            assert_eq!(root(&t, n as u64).unwrap(), h(ROOTS[n - 1]));
        }
        // testonly.NodeHashes level 2 index 1 and level 1 index 3.
        let t = tree(8);
        assert_eq!(t.node(2, 1).unwrap(), h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"));
        assert_eq!(t.node(1, 3).unwrap(), h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"));
    }

    /// transparency-dev/merkle `proof/verify_test.go` inclusionProofs (leaf numbers 1-based there).
    #[test]
    fn inclusion_proofs_match_the_reference_vectors() {
        let vectors: [(u64, u64, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (2, 3, &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        let t = tree(8);
        let leaves = leaves();
        for (index, size, want) in vectors {
            let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
            assert_eq!(inclusion_proof(&t, index, size).unwrap(), want, "({index}, {size})");
            let leaf = leaf_hash(&leaves[index as usize]);
            let root = h(ROOTS[size as usize - 1]);
            verify_inclusion(index, size, &leaf, &want, &root).unwrap();
            for (i, bad) in corrupt_inclusion(index, size, &leaf, &want, &root).into_iter().enumerate() {
                assert!(
                    verify_inclusion(bad.0, bad.1, &bad.2, &bad.3, &bad.4).is_err(),
                    "probe {i} of ({index}, {size})"
                );
            }
        }
        assert_eq!(inclusion_proof(&t, 0, 1).unwrap(), Vec::<Hash>::new());
        assert_eq!(inclusion_proof(&t, 8, 8), Err(TreeError::IndexOutOfRange { index: 8, size: 8 }));
        assert_eq!(
            verify_inclusion(0, 0, &EMPTY_ROOT, &[], &EMPTY_ROOT),
            Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
        );
    }

    type Probe = (u64, u64, Hash, Vec<Hash>, Hash);

    /// The mutations of transparency-dev's `corruptInclusionProof`.
    fn corrupt_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Vec<Probe> {
        let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        let p = proof.to_vec();
        let with = |v: Vec<Hash>| v;
        let mut out: Vec<Probe> = vec![
            (index.wrapping_sub(1), size, *leaf, p.clone(), *root),
            (index + 1, size, *leaf, p.clone(), *root),
            (index ^ 2, size, *leaf, p.clone(), *root),
            (index, size * 2, *leaf, p.clone(), *root),
            (index, size / 2, *leaf, p.clone(), *root),
            (index, size, some, p.clone(), *root),
            (index, size, *leaf, p.clone(), EMPTY_ROOT),
            (index, size, *leaf, p.clone(), some),
            (index, size, *leaf, with([p.clone(), vec![*root]].concat()), *root),
            (index, size, *leaf, with([vec![*root], p.clone()].concat()), *root),
        ];
        for i in 0..p.len() {
            let mut w = p.clone();
            w[i][0] ^= 8;
            out.push((index, size, *leaf, w, *root));
        }
        if !p.is_empty() {
            out.push((index, size, *leaf, p[..p.len() - 1].to_vec(), *root));
        }
        if p.len() > 1 {
            out.push((index, size, *leaf, [vec![p[0], some], p[1..].to_vec()].concat(), *root));
        }
        out
    }

    /// transparency-dev/merkle `proof/verify_test.go` consistencyProofs.
    #[test]
    fn consistency_proofs_match_the_reference_vectors() {
        let vectors: [(u64, u64, &[&str]); 5] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        let t = tree(8);
        let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        for (first, second, want) in vectors {
            let want: Vec<Hash> = want.iter().map(|x| h(x)).collect();
            assert_eq!(consistency_proof(&t, first, second).unwrap(), want, "({first}, {second})");
            let (r1, r2) = (h(ROOTS[first as usize - 1]), h(ROOTS[second as usize - 1]));
            verify_consistency(first, second, &r1, &r2, &want).unwrap();
            if want.is_empty() {
                continue;
            }
            // transparency-dev's corruptConsistencyProof.
            let p = want.clone();
            let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
                (first - 1, second, r1, r2, p.clone()),
                (first + 1, second, r1, r2, p.clone()),
                (first ^ 2, second, r1, r2, p.clone()),
                (first, second * 2, r1, r2, p.clone()),
                (first, second / 2, r1, r2, p.clone()),
                (first, second, some, r2, p.clone()),
                (first, second, r1, some, p.clone()),
                (first, second, r2, r1, p.clone()),
                (first, second, r1, r2, vec![]),
                (first, second, r1, r2, [p.clone(), vec![r1]].concat()),
                (first, second, r1, r2, [p.clone(), vec![r2]].concat()),
                (first, second, r1, r2, [vec![r1], p.clone()].concat()),
                (first, second, r1, r2, [vec![r2], p.clone()].concat()),
                (first, second, r1, r2, [vec![p[0]], p.clone()].concat()),
                (first, second, r1, r2, p[..p.len() - 1].to_vec()),
            ];
            for i in 0..p.len() {
                let mut w = p.clone();
                w[i][0] ^= 16;
                probes.push((first, second, r1, r2, w));
            }
            for (i, (a, b, ra, rb, pr)) in probes.into_iter().enumerate() {
                assert!(verify_consistency(a, b, &ra, &rb, &pr).is_err(), "probe {i} of ({first}, {second})");
            }
        }
        // The edge cases of transparency-dev's TestVerifyConsistency.
        let (a, b) = (some, EMPTY_ROOT);
        assert!(verify_consistency(0, 0, &a, &a, &[]).is_ok());
        assert!(verify_consistency(0, 1, &a, &b, &[]).is_ok());
        assert!(verify_consistency(1, 1, &b, &b, &[]).is_ok());
        assert!(verify_consistency(0, 0, &a, &b, &[]).is_err());
        assert!(verify_consistency(1, 1, &a, &b, &[]).is_err());
        assert!(verify_consistency(1, 0, &a, &b, &[]).is_err());
        assert!(verify_consistency(2, 1, &a, &b, &[]).is_err());
        assert!(verify_consistency(1, 2, &a, &b, &[]).is_err());
        assert!(verify_consistency(0, 1, &b, &b, &[b]).is_err());
        assert!(verify_consistency(1, 1, &b, &b, &[b]).is_err());
        assert_eq!(consistency_proof(&t, 5, 4), Err(TreeError::SizesOutOfOrder { first: 5, second: 4 }));
    }

    #[test]
    fn proofs_agree_with_the_rfc_definitions_on_every_size_up_to_70() {
        let data: Vec<Vec<u8>> = (0..70u32).map(|i| i.to_string().into_bytes()).collect();
        let hashes: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
        let t = MemoryTree::from_leaf_hashes(hashes.iter().copied());
        for n in 1..=70usize {
            let r = reference_root(&hashes[..n]);
            assert_eq!(root(&t, n as u64).unwrap(), r);
            for m in 0..n {
                let p = inclusion_proof(&t, m as u64, n as u64).unwrap();
                assert_eq!(p, reference_path(m, &hashes[..n]), "path {m} of {n}");
                verify_inclusion(m as u64, n as u64, &hashes[m], &p, &r).unwrap();
                assert!(verify_inclusion(m as u64, n as u64, &hashes[(m + 1) % n], &p, &r).is_err() || n == 1);
            }
            for m in 1..=n {
                let p = consistency_proof(&t, m as u64, n as u64).unwrap();
                let want = if m == n { vec![] } else { reference_subproof(m, &hashes[..n], true) };
                assert_eq!(p, want, "consistency {m} → {n}");
                verify_consistency(m as u64, n as u64, &reference_root(&hashes[..m]), &r, &p).unwrap();
            }
        }
    }

    #[test]
    fn new_nodes_are_the_completed_subtrees() {
        let mut t = MemoryTree::new();
        for i in 0..7u64 {
            t.push(&i.to_be_bytes());
        }
        let leaf = leaf_hash(&7u64.to_be_bytes());
        let nodes = new_nodes(&t, 7, leaf).unwrap();
        assert_eq!(nodes.iter().map(|(l, i, _)| (*l, *i)).collect::<Vec<_>>(), vec![(1, 3), (2, 1), (3, 0)]);
        t.push_leaf_hash(leaf);
        assert_eq!(nodes[2].2, t.root());
        assert!(new_nodes(&t, 8, leaf).unwrap().is_empty());
        // A source that lacks a needed node reports it.
        assert_eq!(new_nodes(&MemoryTree::new(), 1, leaf), Err(MissingNode { level: 0, index: 0 }));
    }
}
