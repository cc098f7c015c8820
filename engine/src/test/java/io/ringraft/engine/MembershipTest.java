package io.ringraft.engine;

import io.ringraft.Membership;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Quorums, including the joint consensus of Raft §6. */
class MembershipTest
{
    @Test
    void majorityOfOneConfiguration()
    {
        final Membership m = Membership.of(1, 2, 3);
        assertTrue(m.isQuorum(Set.of(1L, 3L)::contains));
        assertFalse(m.isQuorum(Set.of(2L)::contains));
        assertEquals(5, m.quorumIndex(n -> n == 1 ? 9 : n == 2 ? 5 : 2));
    }

    @Test
    void jointConfigurationNeedsMajoritiesOfBoth()
    {
        final Membership joint = Membership.of(1, 2, 3).toJoint(new long[]{3, 4, 5}, new long[0]);
        assertTrue(joint.isJoint());
        assertFalse(joint.isQuorum(Set.of(1L, 2L)::contains), "old majority alone");
        assertFalse(joint.isQuorum(Set.of(4L, 5L)::contains), "new majority alone");
        assertTrue(joint.isQuorum(Set.of(1L, 3L, 4L)::contains));
        assertEquals(3, joint.quorumIndex(n -> n <= 3 ? 10 : 3), "min over both configurations");
        assertEquals(Membership.of(3, 4, 5), joint.toFinal());
    }

    @Test
    void learnersNeverCount()
    {
        final Membership m = Membership.of(1, 2, 3).withLearner(4, "127.0.0.1:9004");
        assertFalse(m.isQuorum(Set.of(1L, 4L)::contains));
        assertTrue(m.isLearner(4));
        assertEquals(4, m.allNodes().length);
    }

    @Test
    void encodingRoundTrips()
    {
        final Membership m = Membership.of(new long[]{1, 2, 3}, new long[]{2, 3, 4}, new long[]{7}, Map.of(7L, "host:1"));
        assertEquals(m, Membership.decode(m.encode()));
        assertThrows(IllegalArgumentException.class, () -> Membership.decode(new byte[]{9, 1}));
    }

    @Test
    void badConfigurationsAreRefused()
    {
        assertThrows(IllegalArgumentException.class, () -> Membership.of());
        assertThrows(IllegalArgumentException.class, () -> Membership.of(1, 1));
        assertThrows(IllegalArgumentException.class, () -> Membership.of(0, 1));
        assertThrows(IllegalArgumentException.class, () -> Membership.of(1, 2).withLearner(2, null));
    }

    @Test
    void lengthsFromAMalformedEncodingAreCheckedBeforeAllocating()
    {
        final byte[] good = Membership.of(new long[]{1}, new long[0], new long[0], Map.of(1L, "h:1")).encode();
        final java.nio.ByteBuffer bad = java.nio.ByteBuffer.wrap(good.clone());
        bad.putInt(1 + 4 + 8 + 4 + 4 + 4 + 8, Integer.MAX_VALUE); // the endpoint's length
        assertThrows(IllegalArgumentException.class, () -> Membership.decode(bad.array()));
        final java.nio.ByteBuffer badCount = java.nio.ByteBuffer.wrap(good.clone());
        badCount.putInt(1 + 4 + 8 + 4 + 4, Integer.MAX_VALUE); // the endpoint count
        assertThrows(IllegalArgumentException.class, () -> Membership.decode(badCount.array()));
    }
}
