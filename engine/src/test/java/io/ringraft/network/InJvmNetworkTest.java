package io.ringraft.network;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The InJvmNetwork behaviour the RaftNetwork conformance suite (in testkit) does not cover: bounds and fault hooks. */
class InJvmNetworkTest
{
    private final InJvmNetwork hub = new InJvmNetwork(4);
    private final RaftNetwork one = hub.endpoint(1);
    private final RaftNetwork two = hub.endpoint(2);
    private final RaftNetwork three = hub.endpoint(3);

    @Test
    void fullInboxBackPressuresUntilPolled()
    {
        for (int i = 0; i < 4; i++)
        {
            assertEquals(RaftNetwork.SENT, one.send(new TimeoutNow(1, 2, i)));
        }
        assertEquals(RaftNetwork.BACK_PRESSURED, one.send(new TimeoutNow(1, 2, 4)));
        assertEquals(RaftNetwork.SENT, one.send(new TimeoutNow(1, 3, 4)), "other inboxes are not affected");
        assertEquals(1, two.poll(m -> { }, 1));
        assertEquals(RaftNetwork.SENT, one.send(new TimeoutNow(1, 2, 4)));
        assertEquals(List.of(1L, 2L, 3L, 4L), terms(two));
    }

    @Test
    void closedPeerIsNotConnectedAndMayReopen()
    {
        two.close();
        assertEquals(RaftNetwork.NOT_CONNECTED, one.send(new TimeoutNow(1, 2, 1)));
        final RaftNetwork reopened = hub.endpoint(2);
        assertEquals(RaftNetwork.SENT, one.send(new TimeoutNow(1, 2, 2)));
        assertEquals(List.of(2L), terms(reopened));
        assertThrows(IllegalStateException.class, () -> hub.endpoint(2), "a second open endpoint for one node");
    }

    @Test
    void isolatedNodeNeitherSendsNorReceivesUntilHealed()
    {
        hub.isolate(2);
        assertEquals(RaftNetwork.SENT, one.send(new TimeoutNow(1, 2, 1)), "a lossy link looks sent");
        assertEquals(RaftNetwork.SENT, two.send(new TimeoutNow(2, 3, 1)));
        assertEquals(RaftNetwork.SENT, one.send(new TimeoutNow(1, 3, 2)));
        assertEquals(List.of(), terms(two));
        assertEquals(List.of(2L), terms(three));
        assertEquals(2, hub.droppedByFaults());

        hub.heal();
        assertEquals(RaftNetwork.SENT, one.send(new TimeoutNow(1, 2, 3)));
        assertEquals(RaftNetwork.SENT, two.send(new TimeoutNow(2, 3, 4)));
        assertEquals(List.of(3L), terms(two));
        assertEquals(List.of(4L), terms(three));
        assertEquals(2, hub.droppedByFaults());
    }

    @Test
    void dropPredicateCutsOneWayAndByType()
    {
        hub.dropIf(m -> (m.from() == 1 && m.to() == 2) || m instanceof VoteRequest);
        one.send(new TimeoutNow(1, 2, 1));
        two.send(new TimeoutNow(2, 1, 2));
        three.send(new VoteRequest(3, 1, 3, io.ringraft.LogId.ZERO, false, false));
        three.send(new TimeoutNow(3, 1, 4));
        assertEquals(List.of(), terms(two));
        assertEquals(List.of(2L, 4L), terms(one));
        assertEquals(2, hub.droppedByFaults());
        hub.heal();
        one.send(new TimeoutNow(1, 2, 5));
        assertEquals(List.of(5L), terms(two));
    }

    @Test
    void rejectsBadArguments()
    {
        assertThrows(IllegalArgumentException.class, () -> new InJvmNetwork(0));
        assertThrows(IllegalArgumentException.class, () -> hub.endpoint(0));
        assertThrows(IllegalArgumentException.class, () -> one.send(new TimeoutNow(2, 3, 1)));
    }

    private static List<Long> terms(final RaftNetwork network)
    {
        final List<Long> terms = new ArrayList<>();
        network.poll(m -> terms.add(m.term()), 100);
        return terms;
    }
}
