/**
 * The Raft log in Chronicle Queue, the vote beside it, and snapshots as files.
 *
 * <h2>Files</h2>
 * A {@link io.ringraft.storage.chronicle.ChronicleLogStorage} owns one directory:
 * <pre>
 * log/        the Chronicle queue: one cycle file (*.cq4) per segment, plus Chronicle's metadata.cq4t
 * log.meta    the log's own metadata (replaced atomically, CRC32C)
 * vote        the vote: two fixed slots with sequence numbers and CRC32C
 * lock        held with a file lock while the storage is open, so one process owns the directory
 * </pre>
 *
 * <h2>Entries and frames</h2>
 * An entry is self-describing: {@code index(8) term(8) type(4) length(4) payload CRC32C(4)}, little
 * endian, the CRC32C covering header and payload. Entries are written in <em>frames</em>: an append
 * encodes the entry into a reused heap buffer, and {@code flush()} (or 256 entries, or 64 KiB, or
 * the end of a segment) writes the buffered entries as one Chronicle excerpt through the one
 * reused appender. So a group commit costs one excerpt, not one per entry, and nothing is
 * allocated. Under {@code ALWAYS} every entry is its own frame. Entries appended but not yet in a
 * frame are read from the buffer, and reach the page cache at the next {@code flush()} (or
 * {@code close()}), as the SPI allows.
 *
 * <h2>Segments and the Raft index → queue index mapping</h2>
 * Chronicle rolls files by time only, so the storage drives Chronicle's clock itself
 * ({@code SetTimeProvider}, {@code FAST_HOURLY} cycles): a segment is one cycle, and when it holds
 * {@code segmentEntries} entries the clock moves to the next cycle. Within a cycle, queue sequence
 * numbers are contiguous from 0, one per frame. Two small in-memory tables map any index: the
 * segment table (cycle, first index, first frame) per segment, and the frame table (first index)
 * per frame, 8 bytes each. A random read is a binary search in each, a {@code moveToIndex} to
 * {@code rollCycle.toIndex(cycle, frame - segment's first frame)}, and a walk of at most 256 entries
 * in the frame; sequential reads (replication, apply) keep the current frame and the tailer's
 * position and skip the lookups. Every frame written checks that the queue index Chronicle
 * assigned is the computed one.
 * <p>
 * The clock never goes back: {@code log.meta} records the highest cycle ever used, and every
 * rewrite or purge that removes the newest cycle continues in a fresh cycle above it. A cycle
 * file is appended to only by the queue instance that created it: after an open (and after a
 * rewrite's reopen) appends start a fresh cycle, so segments may be shorter than
 * {@code segmentEntries}. The crash test showed why: after a kill, Chronicle's bookkeeping of the
 * last cycle (write position, index) can lag its content, and an appender resuming in that cycle
 * reused a sequence number that a tailer already saw.
 *
 * <h2>Truncation: a segment rewrite with a commit point</h2>
 * Chronicle cannot remove excerpts. To drop entries from index {@code k}, found in segment
 * (cycle {@code c}, first {@code f}):
 * <ol>
 * <li>record the intent in {@code log.meta}: "cycle {@code n} is being written" ({@code n} = the
 *     highest cycle ever used + 1);</li>
 * <li>copy the frames holding {@code f..k-1} (already checked) into cycle {@code n}: whole frames,
 *     and the part of {@code k}'s frame before {@code k} (entries are self-contained, so a prefix
 *     of a frame is a frame); sync it;</li>
 * <li>commit in {@code log.meta}: "cycles {@code c..n-1} are superseded" — the commit point;</li>
 * <li>close the queue, delete the superseded cycle files, reopen it; appends go on in cycle
 *     {@code n + 1}.</li>
 * </ol>
 * A truncation that only reaches entries not yet written just shortens the frame buffer.
 * A crash before step 3 leaves the old log: recovery deletes cycle {@code n}. A crash after it
 * leaves the new one: recovery deletes whatever is left of {@code c..n-1}. The cost is bounded by
 * a segment (truncations are rare: a follower's conflicting suffix).
 *
 * <h2>Purge</h2>
 * {@code purgePrefix(upTo)} records {@code upTo} in {@code log.meta} (the commit point), then
 * deletes the cycle files whose entries are all {@code <= upTo}: a segment that still holds a live
 * entry stays, and reads start after {@code upTo}. A purge beyond the last entry (after a
 * snapshot install) deletes every segment and continues in a fresh cycle. Recovery deletes any
 * cycle file that an interrupted purge left behind.
 *
 * <h2>Recovery on open</h2>
 * <ol>
 * <li>A directory with none of {@code log.meta}, {@code vote} and cycle files is initialised (also
 *     one with only an initial vote: an initialisation cut short). A log without its vote, a vote
 *     other than the initial one without its log, or cycle files without {@code log.meta} are
 *     inconsistent: {@link io.ringraft.storage.RaftStorageException}, never a silent
 *     re-initialisation.</li>
 * <li>Interrupted steps recorded in {@code log.meta} are finished or undone (above); a newest cycle
 *     file that a kill left without its header (Chronicle creates the file, then writes its header)
 *     is deleted, since a tailer would wait for it for ever.</li>
 * <li>Every frame and every entry is read and checked: CRC32C, lengths, type, contiguous indexes
 *     and sequence numbers, terms that never decrease. This rebuilds the segment and frame
 *     tables.</li>
 * <li>A bad last frame is a torn tail: it is cut whole (its entries were written by one flush that
 *     did not complete) with the truncation above. A bad entry followed by good frames stops
 *     start-up with a {@code RaftStorageException} naming the file and the index.</li>
 * </ol>
 *
 * <h2>Durability</h2>
 * An append is a store into a memory-mapped file, so it reaches the page cache at once: every
 * policy survives a process crash (kill -9). {@code BATCH} syncs on the storage's flusher thread
 * ({@code LogFlusher}) after {@code flush()} posts what it wrote,
 * {@code ALWAYS} on every append on the caller's thread; a sync is {@code FileChannel.force(false)} (fdatasync) on each cycle file written
 * since the last sync — on Linux that writes the file's dirty mapped pages, data and Chronicle's
 * index pages alike — plus Chronicle's {@code metadata.cq4t} and an fsync of the directory when a
 * cycle file was created. {@code log.meta} is replaced with write, fsync, rename and directory
 * fsync ({@code NONE} skips the fsyncs); a vote save overwrites the older of its two slots and
 * fsyncs under every policy, since a node must not forget a vote it gave.
 * {@code flush()} reports an index durable only once the policy's sync of it is done (under
 * {@code BATCH}, what the flusher has synced so far, without waiting), so nothing is reported
 * durable beyond what the policy made durable. The bench module's README has the measured costs.
 *
 * <h2>Snapshots</h2>
 * {@link io.ringraft.storage.chronicle.FileSnapshotStore}: one file per snapshot, the data then a
 * trailer with its meta and CRC32Cs, written under a temporary name and renamed atomically.
 */
package io.ringraft.storage.chronicle;
