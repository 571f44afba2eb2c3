"""Rule-based follow-up rewriting and the history budget."""

from app.conversation import Turn, condense, is_follow_up, trim_history

FIRST = Turn("What did Korea agree to with Cambodia?", "They agreed to deepen cooperation.")


def test_standalone_questions_pass_through():
    assert condense("Who is the South Korean ambassador?", [FIRST]) == "Who is the South Korean ambassador?"
    assert condense("What about the task force?", []) == "What about the task force?"


def test_follow_ups_carry_the_previous_subject():
    assert condense("What about the task force?", [FIRST]) == "What about the task force (Korea, Cambodia)?"
    assert condense("When was that?", [FIRST]) == "When was that: What did Korea agree to with Cambodia?"
    assert condense("And Japan?", [FIRST]) == "What did Japan agree to with Cambodia?"


def test_follow_up_detection():
    assert is_follow_up("What did they say about it?")
    assert is_follow_up("And the task force?")
    assert not is_follow_up("How many people work in scam compounds in Myanmar?")


def test_history_is_trimmed_to_the_token_budget():
    turns = [Turn(f"question {i}", "answer " * 50) for i in range(10)]
    kept = trim_history(turns, 120)
    assert kept and kept[-1] is turns[-1]
    assert len(kept) == 2
    assert trim_history(turns, 0) == []
