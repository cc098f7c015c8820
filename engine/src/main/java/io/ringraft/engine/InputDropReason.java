package io.ringraft.engine;

/**
 * Why the {@link Engine} dropped a message from another node instead of acting on it: the message
 * is impossible from a correct peer (a forgery, a corruption the transport did not catch, or a
 * peer's bug), or an introduction too old to act on. Each is counted ({@link Engine#droppedInput(InputDropReason)}) and reported through
 * {@link EngineOutput#inputDropped}; none throws, and none changes the node's state. A broken
 * invariant of the engine itself is a bug and still fails the node.
 */
public enum InputDropReason
{
    /** Addressed to another node. */
    NOT_ADDRESSED,
    /** AppendEntries or InstallSnapshot from another leader of the term this node leads (two leaders in one term). */
    SECOND_LEADER,
    /**
     * AppendEntries whose entries no leader sends: not consecutive, not following the previous
     * entry, terms going back or beyond the message's term, a type this version does not know.
     */
    ENTRIES_MALFORMED,
    /** An entry's CRC32C does not match its content: corrupted on the way. The leader sends it again. */
    ENTRY_CHECKSUM,
    /** AppendEntries that would remove committed entries. */
    TRUNCATES_COMMITTED,
    /** InstallSnapshot with an impossible description: a bad id, no membership, a chunk beyond the size. */
    SNAPSHOT_MALFORMED,
    /** InstallSnapshot ending at or below the commit index on an entry other than the committed one. */
    SNAPSHOT_CONFLICTS_COMMITTED,
    /**
     * A response to a request this node never sent: a match beyond its log, a heartbeat round not
     * yet started, a snapshot offset beyond the snapshot.
     */
    UNSOLICITED_RESPONSE,
    /**
     * An {@link io.ringraft.network.Introduce} of a term before this node's: a deposed leader's,
     * delayed or replayed. Only a leader of this node's term or a later one opens a channel.
     */
    STALE_INTRODUCTION,
    /** An {@link io.ringraft.network.Introduce} without an endpoint, or claiming to come from this node or an invalid id. */
    INTRODUCTION_MALFORMED
}
