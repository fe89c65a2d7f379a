// Package records holds the records of the Zoho emulators without pointers: a Slab keeps
// fixed-size, pointer-free record structs in large pages found through a map of slot numbers,
// and an Arena keeps each record's packed field values in large append-only byte chunks, so
// that the garbage collector has a few thousand large objects to mark for a million records
// instead of two small ones per record and a pointer in a map.
//
// Why: with each record a struct of its own pointing at a string of its own, marking those
// small objects (each a span and size-class lookup that no longer stays in cache at that
// size) took 75 s of the emulators' 367 s in bench-scale at 1M records, against 3 s of 33 s at
// 100k, and both emulators share one process, so every collection one's traffic caused paid
// for the other's records too. Stored here, a forced collection with a million CRM contacts
// takes 10–15 ms of the collector's processor time instead of 350–1,030 ms
// (crm BenchmarkWriteCalls/n=1M/GC), and the Desk emulator's collector time per call fell
// from 13–20 µs to about 0.1 µs (desk BenchmarkSyncTraffic1M).
//
// Invariants:
//
//   - Bytes once written to an arena chunk are never written again. A value handed out by
//     Arena.Get is a string into its chunk that stays valid, and keeps the chunk alive, for as
//     long as anyone holds it, whatever the store does afterwards.
//   - A Ref (and a pointer into a Slab) is only good until the store next changes: a write
//     may compact the chunk a Ref points into, moving the values to another chunk. Code that
//     reads a record across a change of the store reads it again, or gets its values first.
//   - Neither type locks: callers hold their store's lock, for writing when they put, release,
//     tidy or delete, and at least for reading when they get.
//   - The T of a Slab holds no pointers (nor strings, slices, maps or interfaces); otherwise
//     the pages would be scanned after all.
package records
