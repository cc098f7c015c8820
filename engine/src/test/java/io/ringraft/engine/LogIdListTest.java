package io.ringraft.engine;

import io.ringraft.LogId;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class LogIdListTest
{
    private static LogIdList list()
    {
        final LogIdList l = new LogIdList(LogId.ZERO);
        l.append(0, 1);     // 1
        l.append(2, 3);     // 2..4
        l.append(5, 2);     // 5..6
        l.append(5, 1);     // 7
        return l;
    }

    @Test
    void termAtAnswersFromTermBoundaries()
    {
        final LogIdList l = list();
        assertEquals(0, l.termAt(0));
        assertEquals(0, l.termAt(1));
        assertEquals(2, l.termAt(2));
        assertEquals(2, l.termAt(4));
        assertEquals(5, l.termAt(5));
        assertEquals(5, l.termAt(7));
        assertEquals(-1, l.termAt(8));
        assertEquals(new LogId(5, 7), l.lastLogId());
    }

    @Test
    void firstAndLastIndexOfTerm()
    {
        final LogIdList l = list();
        assertEquals(2, l.firstIndexOf(2));
        assertEquals(4, l.lastIndexOf(2));
        assertEquals(7, l.lastIndexOf(5));
        assertEquals(-1, l.firstIndexOf(3));
    }

    @Test
    void truncateDropsWholeAndPartialTerms()
    {
        final LogIdList l = list();
        l.truncate(4);
        assertEquals(new LogId(2, 3), l.lastLogId());
        assertEquals(-1, l.firstIndexOf(5));
        l.append(6, 1);
        assertEquals(6, l.termAt(4));
        assertThrows(IllegalStateException.class, () -> l.append(4, 1));
    }

    @Test
    void purgeKeepsTermsOfRemainingEntries()
    {
        final LogIdList l = list();
        l.purge(new LogId(2, 3));
        assertEquals(2, l.termAt(3));
        assertEquals(-1, l.termAt(2));
        assertEquals(2, l.termAt(4));
        assertEquals(5, l.termAt(6));
        assertEquals(4, l.firstIndexOf(2));
        assertThrows(IllegalStateException.class, () -> l.truncate(3));
        l.purge(new LogId(9, 20));
        assertEquals(new LogId(9, 20), l.lastLogId());
        assertEquals(9, l.termAt(20));
    }
}
