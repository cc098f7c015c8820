package io.ringraft.testkit.sim;

import io.ringraft.network.AppendEntriesRequest;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.InstallSnapshotRequest;
import io.ringraft.network.InstallSnapshotResponse;
import io.ringraft.network.Introduce;
import io.ringraft.network.RaftMessage;
import io.ringraft.network.ReadIndexRequest;
import io.ringraft.network.ReadIndexResponse;
import io.ringraft.network.TimeoutNow;
import io.ringraft.network.VoteRequest;
import io.ringraft.network.VoteResponse;

import java.util.Arrays;
import java.util.stream.Collectors;

/** The kinds of Raft messages, as the simulated network counts, delays and filters them, with their names in scenario scripts. */
public enum MessageType
{
    /** A {@link VoteRequest} of a real election. */
    VOTE("vote"),
    /** A {@link VoteResponse} to a real election. */
    VOTE_RESPONSE("vote-resp"),
    /** A {@link VoteRequest} of a pre-vote. */
    PRE_VOTE("prevote"),
    /** A {@link VoteResponse} to a pre-vote. */
    PRE_VOTE_RESPONSE("prevote-resp"),
    /** An {@link AppendEntriesRequest}, heartbeats included. */
    APPEND("append"),
    /** An {@link AppendEntriesResponse}. */
    APPEND_RESPONSE("append-resp"),
    /** An {@link InstallSnapshotRequest} (one chunk). */
    SNAPSHOT("snapshot"),
    /** An {@link InstallSnapshotResponse}. */
    SNAPSHOT_RESPONSE("snapshot-resp"),
    /** A {@link ReadIndexRequest} from a follower. */
    READ_INDEX("readindex"),
    /** A {@link ReadIndexResponse}. */
    READ_INDEX_RESPONSE("readindex-resp"),
    /** A {@link TimeoutNow} of a leader transfer. */
    TIMEOUT_NOW("timeout-now"),
    /** An {@link Introduce} from a leader to a member that has not answered it. */
    INTRODUCE("introduce");

    private static final MessageType[] VALUES = values();

    private final String scriptName;

    MessageType(final String scriptName)
    {
        this.scriptName = scriptName;
    }

    /** @return the name of the type in scenario scripts */
    public String scriptName()
    {
        return scriptName;
    }

    /**
     * @param message a message
     * @return its type
     */
    public static MessageType of(final RaftMessage message)
    {
        if (message instanceof AppendEntriesRequest)
        {
            return APPEND;
        }
        if (message instanceof AppendEntriesResponse)
        {
            return APPEND_RESPONSE;
        }
        if (message instanceof VoteRequest request)
        {
            return request.preVote() ? PRE_VOTE : VOTE;
        }
        if (message instanceof VoteResponse response)
        {
            return response.preVote() ? PRE_VOTE_RESPONSE : VOTE_RESPONSE;
        }
        if (message instanceof InstallSnapshotRequest)
        {
            return SNAPSHOT;
        }
        if (message instanceof InstallSnapshotResponse)
        {
            return SNAPSHOT_RESPONSE;
        }
        if (message instanceof ReadIndexRequest)
        {
            return READ_INDEX;
        }
        if (message instanceof ReadIndexResponse)
        {
            return READ_INDEX_RESPONSE;
        }
        if (message instanceof Introduce)
        {
            return INTRODUCE;
        }
        return TIMEOUT_NOW;
    }

    /**
     * @param name a script name, e.g. {@code append-resp}
     * @return the type
     * @throws IllegalArgumentException naming the known names if there is no such type
     */
    public static MessageType byScriptName(final String name)
    {
        for (final MessageType type : VALUES)
        {
            if (type.scriptName.equals(name))
            {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown message type '" + name + "': expected one of " +
            Arrays.stream(VALUES).map(MessageType::scriptName).collect(Collectors.joining(", ")));
    }
}
