package dev.relay.server.admin.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class QueryStringTest {
    @Test
    void pairsAreDecodedInOrderAndAPairWithoutEqualsHasAnEmptyValue() {
        assertThat(QueryString.pairs("state=deferred%2Chold&sender=a%40b.example&flag&x=1+2"))
                .extracting(QueryString.Pair::key, QueryString.Pair::value)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("state", "deferred,hold"),
                        org.assertj.core.groups.Tuple.tuple("sender", "a@b.example"),
                        org.assertj.core.groups.Tuple.tuple("flag", ""),
                        org.assertj.core.groups.Tuple.tuple("x", "1 2"));
        assertThat(QueryString.pairs(null)).isEmpty();
    }

    @Test
    void paramIsTheLastValueOfItsNameAndNullWhenAbsent() {
        assertThat(QueryString.param("limit=5&limit=7", "limit")).isEqualTo("7");
        assertThat(QueryString.param("limit=5", "after")).isNull();
        assertThat(QueryString.param(null, "after")).isNull();
    }

    @Test
    void aMalformedValueIsAnErrorOnlyWhereItIsRead() {
        assertThat(QueryString.param("since=1h&junk=%ZZ", "since")).isEqualTo("1h");
        assertThatThrownBy(() -> QueryString.param("since=%ZZ", "since"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
