package io.ringraft.engine;

import io.ringraft.Entry;
import io.ringraft.EntryType;
import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.network.VoteResponse;
import io.ringraft.storage.InMemoryLogStorage;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Builds an engine in a given state for a handler test: a node with a log of given terms and a
 * vote, optionally elected leader, then forgets the recorded commands so that the test sees only
 * what its one event causes.
 */
final class EngineFixture
{
    static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    static final long ELECTION_MIN = 150 * MS;
    static final long ELECTION_MAX = 300 * MS;
    static final long HEARTBEAT = 50 * MS;

    final Engine engine;
    final RecordingOutput out;

    private EngineFixture(final Engine engine, final RecordingOutput out)
    {
        this.engine = engine;
        this.out = out;
    }

    static EngineConfig config(final long nodeId)
    {
        return new EngineConfig().nodeId(nodeId).electionTimeoutMinNanos(ELECTION_MIN).electionTimeoutMaxNanos(ELECTION_MAX)
            .heartbeatIntervalNanos(HEARTBEAT).maxInflightAppends(4).maxEntriesPerAppend(10);
    }

    /**
     * A started follower.
     *
     * @param config     the node's config
     * @param vote       its persisted vote
     * @param membership the membership, held by the entry at index 1 (term 0)
     * @param terms      the terms of the entries after it, from index 2 on
     */
    static EngineFixture follower(final EngineConfig config, final Vote vote, final Membership membership, final long... terms)
    {
        final InMemoryLogStorage storage = new InMemoryLogStorage();
        storage.saveVote(vote);
        storage.append(Entry.membership(0, 1, membership));
        for (int i = 0; i < terms.length; i++)
        {
            storage.append(new Entry(terms[i], i + 2, EntryType.NORMAL, new byte[]{(byte)i}));
        }
        final RecordingOutput out = new RecordingOutput();
        final Engine engine = new Engine(config, InitialState.load(storage, null, LogId.ZERO), new SplittableRandom(7), out);
        engine.start(0);
        engine.voteHoldUntilNanos = Long.MIN_VALUE; // a node that has been up for a while
        out.commands.clear();
        return new EngineFixture(engine, out);
    }

    /** A node that has just won the election of {@code term} (its blank entry durable), followers still probing. */
    static EngineFixture leader(final EngineConfig config, final long term, final Membership membership, final long... terms)
    {
        final EngineFixture f = follower(config, new Vote(term - 1, Vote.NO_NODE, false), membership, terms);
        f.engine.tick(ELECTION_MAX);
        f.engine.triggerElection();
        for (final long peer : membership.voters())
        {
            if (peer != config.nodeId() && f.engine.role() != Role.LEADER)
            {
                f.engine.handle(new VoteResponse(peer, config.nodeId(), term, true, false));
            }
        }
        if (f.engine.role() != Role.LEADER || f.engine.currentTerm() != term)
        {
            throw new IllegalStateException("fixture failed to elect node " + config.nodeId() + " in term " + term + ": " + f.engine);
        }
        f.engine.onLogFlushed(f.engine.lastLogIndex());
        f.out.commands.clear();
        return f;
    }
}
