from sandboxes.compare import compare_output, tokens_equal


def test_trailing_whitespace_and_blank_lines_are_insignificant():
    assert compare_output("1 2\n3\n", "1 2   \n\n3\n\n\n")[0]


def test_missing_or_extra_lines_are_wrong():
    assert not compare_output("1\n2\n3\n", "1\n2\n")[0]
    assert not compare_output("1\n2\n", "1\n2\n3\n")[0]
    assert not compare_output("1\n", "")[0]


def test_integers_exact_floats_with_tolerance():
    assert not tokens_equal("3", "3.0000001")
    assert not tokens_equal("3", "4")
    assert tokens_equal("0.333333", "0.3333333333")
    assert tokens_equal("1e9", "1000000000.5")  # relative tolerance
    assert not tokens_equal("0.5", "0.6")
    assert not tokens_equal("0.5", "abc")


def test_nan_never_equal_and_words_exact():
    assert not tokens_equal("nan", "nan")
    assert tokens_equal("inf", "inf") and not tokens_equal("inf", "-inf")
    assert tokens_equal("YES", "YES") and not tokens_equal("YES", "yes")


def test_reason_names_the_difference():
    ok, why = compare_output("1 2\n", "1 3\n")
    assert not ok and "line 1 token 2" in why
