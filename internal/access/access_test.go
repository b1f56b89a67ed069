package access

import (
	"strings"
	"testing"
	"time"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	h := HashPassword("正确的密码 correct")
	if !strings.HasPrefix(h, "$argon2id$") {
		t.Fatalf("not argon2id: %s", h)
	}
	if !CheckPassword(h, "正确的密码 correct") {
		t.Fatal("right password refused")
	}
	for _, bad := range []string{"", "正确的密码", "正确的密码 Correct"} {
		if CheckPassword(h, bad) {
			t.Fatalf("wrong password %q accepted", bad)
		}
	}
	if CheckPassword("garbage", "x") || CheckPassword("$argon2id$v=19$m=1,t=1,p=1$!!$!!", "x") {
		t.Fatal("malformed hash accepted")
	}
	if h2 := HashPassword("正确的密码 correct"); h2 == h {
		t.Fatal("salt not random")
	}
}

func TestThrottleWindowAndBound(t *testing.T) {
	th := newThrottle(3, time.Minute, 10)
	now := time.Unix(0, 0)
	for i := 0; i < 3; i++ {
		if !th.allow(now, "k") {
			t.Fatalf("refused after %d failures", i)
		}
		th.fail(now, "k")
	}
	if th.allow(now, "k") {
		t.Fatal("allowed after 3 failures")
	}
	if !th.allow(now.Add(2*time.Minute), "k") {
		t.Fatal("still refused after the window")
	}
	for i := 0; i < 100; i++ {
		th.fail(now, strings.Repeat("x", i+1))
	}
	if len(th.m) > 10 {
		t.Fatalf("throttle holds %d keys, bound is 10", len(th.m))
	}
}

func TestValidateUsername(t *testing.T) {
	for _, ok := range []string{"admin", "张三", "li.si", "w_1-2"} {
		if err := ValidateUsername(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"a", "has space", "semi;colon", strings.Repeat("长", 65)} {
		if err := ValidateUsername(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// 64 Han characters are 192 bytes but 64 characters: allowed.
	if err := ValidateUsername(strings.Repeat("长", 64)); err != nil {
		t.Errorf("64 characters refused: %v", err)
	}
}
