package io.ringraft.engine;

import io.ringraft.LogId;
import io.ringraft.Membership;
import io.ringraft.Vote;
import io.ringraft.engine.RecordingOutput.Dropped;
import io.ringraft.engine.RecordingOutput.Introduced;
import io.ringraft.engine.RecordingOutput.Send;
import io.ringraft.network.AppendEntriesResponse;
import io.ringraft.network.Introduce;
import io.ringraft.network.RaftMessage;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.ringraft.engine.EngineFixture.ELECTION_MAX;
import static io.ringraft.engine.EngineFixture.ELECTION_MIN;
import static io.ringraft.engine.EngineFixture.HEARTBEAT;
import static io.ringraft.engine.EngineFixture.config;
import static io.ringraft.engine.EngineFixture.follower;
import static io.ringraft.engine.EngineFixture.leader;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A leader introduces itself to a member that has not answered it for an election timeout (the
 * member may hold a membership that does not name the leader, and a network that accepts only
 * the members it knows would drop everything the leader sends); a node passes an introduction of
 * its term or a later one to the runtime, and drops and counts a stale or malformed one. An
 * introduction changes no term, vote, role or log.
 */
class IntroduceTest
{
    private static final Membership THREE = Membership.of(1, 2, 3);
    private static final Membership WITH_ENDPOINTS = Membership.of(new long[]{1, 2, 3}, new long[0], new long[0],
        Map.of(1L, "127.0.0.1:20001", 2L, "127.0.0.1:20002", 3L, "127.0.0.1:20003"));

    /** Node 2 follows leader 1 in term 5. */
    private static EngineFixture followerInTerm5()
    {
        final EngineFixture f = follower(config(2), new Vote(5, 1, false), THREE, 3, 3);
        f.out.take();
        return f;
    }

    private static void assertNothingChangedBy(final EngineFixture f, final RaftMessage message, final List<Object> expected)
    {
        final Role role = f.engine.role();
        final Vote vote = f.engine.vote();
        final LogId last = f.engine.lastLogId();
        final long leader = f.engine.leaderId();
        f.engine.handle(message);
        assertEquals(expected, f.out.take(), String.valueOf(message));
        assertEquals(role, f.engine.role(), "role after " + message);
        assertEquals(vote, f.engine.vote(), "term and vote after " + message);
        assertEquals(last, f.engine.lastLogId(), "log after " + message);
        assertEquals(leader, f.engine.leaderId(), "leader after " + message);
    }

    @Test
    void anIntroductionOfTheCurrentOrALaterTermOnlyOpensAChannel()
    {
        final EngineFixture f = followerInTerm5();
        assertNothingChangedBy(f, new Introduce(4, 2, 5, "127.0.0.1:20004"), List.of(new Introduced(4, 5, "127.0.0.1:20004")));
        assertNothingChangedBy(f, new Introduce(4, 2, 9, "127.0.0.1:20004 client"),
            List.of(new Introduced(4, 9, "127.0.0.1:20004 client")));
        assertEquals(0, f.engine.droppedInput(InputDropReason.STALE_INTRODUCTION));
    }

    @Test
    void aStaleIntroductionIsDroppedAndCounted()
    {
        final EngineFixture f = followerInTerm5();
        assertNothingChangedBy(f, new Introduce(4, 2, 4, "127.0.0.1:20004"), List.of(new Dropped(InputDropReason.STALE_INTRODUCTION)));
        assertNothingChangedBy(f, new Introduce(4, 2, 0, "127.0.0.1:20004"), List.of(new Dropped(InputDropReason.STALE_INTRODUCTION)));
        assertEquals(2, f.engine.droppedInput(InputDropReason.STALE_INTRODUCTION));
    }

    @Test
    void aMalformedIntroductionIsDroppedAndCounted()
    {
        final EngineFixture f = followerInTerm5();
        final List<Object> dropped = List.of(new Dropped(InputDropReason.INTRODUCTION_MALFORMED));
        assertNothingChangedBy(f, new Introduce(4, 2, 6, null), dropped);
        assertNothingChangedBy(f, new Introduce(4, 2, 6, " \t"), dropped);
        assertNothingChangedBy(f, new Introduce(2, 2, 6, "127.0.0.1:20002"), dropped); // from itself
        assertNothingChangedBy(f, new Introduce(0, 2, 6, "127.0.0.1:20000"), dropped);
        assertNothingChangedBy(f, new Introduce(-3, 2, 6, "127.0.0.1:20000"), dropped);
        assertEquals(5, f.engine.droppedInput(InputDropReason.INTRODUCTION_MALFORMED));
    }

    /** Node 2 answers every heartbeat, node 3 never does. */
    @Test
    void theLeaderIntroducesItselfToAMemberSilentForAnElectionTimeoutAtMostOncePerHeartbeat()
    {
        final EngineFixture f = leader(config(1), 2, WITH_ENDPOINTS);
        final long elected = ELECTION_MAX; // when the fixture's election ran
        long now = elected;
        final List<Introduce> introductions = new java.util.ArrayList<>();
        while (now < elected + ELECTION_MIN + 4 * HEARTBEAT)
        {
            now += HEARTBEAT / 5;
            f.engine.tick(now);
            f.engine.triggerHeartbeat(); // extra rounds (ReadIndex) do not send more introductions
            f.engine.handle(new AppendEntriesResponse(2, 1, 2, true, 0, 0, 0, 0));
            for (final Send send : f.out.take(Send.class))
            {
                if (send.message() instanceof Introduce introduce)
                {
                    assertTrue(now - elected >= ELECTION_MIN, "not before an election timeout of silence: " + now);
                    introductions.add(introduce);
                }
            }
        }
        assertTrue(introductions.size() >= 4 && introductions.size() <= 5, "one per heartbeat interval: " + introductions);
        for (final Introduce introduce : introductions)
        {
            assertEquals(new Introduce(1, 3, 2, "127.0.0.1:20001"), introduce, "to the silent member only");
        }
        assertEquals(Role.LEADER, f.engine.role());
    }

    @Test
    void aLeaderWhoseMembershipRecordsNoEndpointOfItsOwnIntroducesNothing()
    {
        final EngineFixture f = leader(config(1), 2, THREE);
        for (long now = ELECTION_MAX + HEARTBEAT; now < ELECTION_MAX + 3 * ELECTION_MIN; now += HEARTBEAT)
        {
            f.engine.tick(now);
            f.engine.handle(new AppendEntriesResponse(2, 1, 2, true, 0, 0, 0, 0));
            assertTrue(f.out.take(Send.class).stream().noneMatch(s -> s.message() instanceof Introduce), "no endpoint to give");
        }
    }
}
