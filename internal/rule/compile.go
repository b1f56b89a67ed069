package rule

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"

	"github.com/citybrain/citybrain"
)

// Expression limits: they bound evaluation cost, since expr has no loops once ranges,
// closures and collection builtins are refused.
const (
	MaxNodes   = 200 // AST nodes per condition
	MaxWindows = 16  // window function calls per condition
	MaxWindow  = 24 * time.Hour
)

// safeBuiltins are the expr builtins a condition may call; all others are disabled.
func safeBuiltins() []string {
	return []string{"abs", "ceil", "floor", "round", "int", "float"}
}

// windowFuncs are the functions over a measurement's recent history, called with constant
// arguments: avg("pm25", "15m").
func windowFuncs() map[string]string {
	return map[string]string{
		"avg":   "窗口平均值 / average over the window",
		"min":   "窗口最小值 / minimum over the window",
		"max":   "窗口最大值 / maximum over the window",
		"sum":   "窗口求和 / sum over the window",
		"count": "窗口内读数个数 / number of readings in the window",
		"delta": "窗口内变化量（最新减最早）/ change over the window (newest minus oldest)",
		"rate":  "每分钟变化率 / change per minute over the window",
	}
}

// ConditionError is a mistake in a rule's condition, with its position. It unwraps to an
// EINVALID *citybrain.Error on the field "condition", so the HTTP layer answers 400.
type ConditionError struct {
	Line      int    `json:"line"`   // 1-based
	Column    int    `json:"column"` // 1-based, in runes
	Snippet   string `json:"snippet"`
	Message   string `json:"message"`    // English
	MessageZH string `json:"message_zh"` // Chinese
}

// Error returns both languages, the position and the caret snippet.
func (e *ConditionError) Error() string {
	return fmt.Sprintf("%s / %s (line %d, column %d)\n%s", e.MessageZH, e.Message, e.Line, e.Column, e.Snippet)
}

// Unwrap returns the platform error carrying the code and field.
func (e *ConditionError) Unwrap() error {
	return &citybrain.Error{Code: citybrain.EINVALID, Field: "condition", Message: e.Error()}
}

// newConditionError builds a ConditionError for the rune range [from, to) of src.
func newConditionError(src string, from int, zh, en string) *ConditionError {
	line, col := 1, 1
	lineStart := 0
	runes := []rune(src)
	if from > len(runes) {
		from = len(runes)
	}
	for i := 0; i < from; i++ {
		if runes[i] == '\n' {
			line++
			col = 1
			lineStart = i + 1
		} else {
			col++
		}
	}
	lineEnd := lineStart
	for lineEnd < len(runes) && runes[lineEnd] != '\n' {
		lineEnd++
	}
	snippet := string(runes[lineStart:lineEnd]) + "\n" + strings.Repeat(" ", col-1) + "^"
	return &ConditionError{Line: line, Column: col, Snippet: snippet, Message: en, MessageZH: zh}
}

// fromExprError converts an expr compile error into a ConditionError.
func fromExprError(src string, err error) *ConditionError {
	var fe *file.Error
	if errors.As(err, &fe) {
		return newConditionError(src, fe.From, "表达式有误："+translate(fe.Message), fe.Message)
	}
	return newConditionError(src, 0, "表达式有误", err.Error())
}

// translate gives a Chinese reading of the commonest expr messages.
func translate(msg string) string {
	switch {
	case strings.HasPrefix(msg, "unexpected token"):
		return "此处有意外的符号（" + msg + "）"
	case strings.HasPrefix(msg, "unknown name"):
		return "未知名称（" + msg + "）"
	case strings.Contains(msg, "mismatched types") || strings.HasPrefix(msg, "invalid operation"):
		return "类型不匹配（" + msg + "）"
	case strings.HasPrefix(msg, "expected bool"):
		return "条件的结果必须是真/假（" + msg + "）"
	case strings.Contains(msg, "unclosed") || strings.Contains(msg, "literal not terminated"):
		return "括号或引号未闭合（" + msg + "）"
	}
	return msg
}

// windowSpec is one window function call in a condition.
type windowSpec struct {
	Fn          string
	Measurement string
	Window      time.Duration
	slot        string // the env variable the call is replaced by
}

// compiled is a rule ready to evaluate.
type compiled struct {
	rule     Rule
	prog     *vm.Program
	vars     []string     // measurements referenced directly
	wins     []windowSpec // window calls, slot order
	measures []string     // every measurement the condition depends on
	activity map[string]bool
	clear    map[string]bool
	window   *dailyMinutes
	fp       string          // fingerprint of what evaluation state depends on
	watch    map[string]bool // profile -> can show this rule's activity (engine mutex)

	// eval runs the program; a field so a test can make a rule misbehave.
	eval func(v *vm.VM, env map[string]any) (bool, error)

	// health, guarded by the engine mutex
	evals, errs, consecutive int64
	lastErr                  string
	quarantined              bool
}

type dailyMinutes struct{ start, end int }

// compile validates r and compiles its condition. The returned error is a
// *citybrain.Error (field errors) or a *ConditionError (expression errors).
func compile(r Rule, catalog Catalog) (*compiled, error) {
	r.Normalize()
	p, err := validateFields(r, catalog)
	if err != nil {
		return nil, err
	}
	c := &compiled{rule: r, activity: map[string]bool{}, clear: map[string]bool{}}
	for _, a := range r.Activity {
		c.activity[a] = true
	}
	for _, a := range r.ClearEvents {
		c.clear[a] = true
	}
	if r.DailyWindow != nil {
		s, e, _ := r.DailyWindow.minutes()
		c.window = &dailyMinutes{s, e}
	}
	c.fp = fingerprint(r)
	c.eval = func(v *vm.VM, env map[string]any) (bool, error) {
		out, err := v.Run(c.prog, env)
		if err != nil {
			return false, err
		}
		b, ok := out.(bool)
		if !ok {
			return false, fmt.Errorf("condition returned %T, not bool", out)
		}
		return b, nil
	}
	if r.Kind != KindCondition && r.Kind != KindRate && r.Kind != KindWindow {
		return c, nil
	}
	if err := c.compileExpr(p); err != nil {
		return nil, err
	}
	return c, nil
}

func fingerprint(r Rule) string {
	dw := ""
	if r.DailyWindow != nil {
		dw = r.DailyWindow.Start + "-" + r.DailyWindow.End
	}
	return fmt.Sprintf("%s|%s|%d|%s|%s|%s|%s|%s", r.Kind, r.Condition, r.For, strings.Join(r.Activity, ","), strings.Join(r.ClearEvents, ","), dw, r.Profile, r.Group)
}

// checker walks a parsed condition, refusing constructs with unbounded cost and
// collecting measurements and window calls.
type checker struct {
	src     string
	profile ProfileInfo
	err     *ConditionError
	vars    map[string]bool
	wins    []windowSpec
	slots   map[string]string // fn|measurement|window -> slot
}

func (k *checker) fail(n ast.Node, zh, en string) {
	if k.err == nil {
		k.err = newConditionError(k.src, n.Location().From, zh, en)
	}
}

func (k *checker) measurementOK(n ast.Node, name string) bool {
	if k.profile.AnyMeasurement || contains(k.profile.Measurements, name) {
		return true
	}
	known := strings.Join(k.profile.Measurements, ", ")
	k.fail(n, fmt.Sprintf("该设备类型没有测量量 %q（可用：%s）", name, known),
		fmt.Sprintf("unknown measurement %q for this profile (known: %s)", name, known))
	return false
}

// walk checks n and its children top-down. Only the node kinds listed are allowed, so a
// condition's cost is linear in its (bounded) size.
func (k *checker) walk(node ast.Node) {
	if node == nil || k.err != nil {
		return
	}
	switch n := node.(type) {
	case *ast.IdentifierNode:
		if strings.HasPrefix(n.Value, "__") {
			k.fail(n, "名称不能以 __ 开头", "names may not start with __")
			return
		}
		if k.measurementOK(n, n.Value) {
			k.vars[n.Value] = true
		}
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.NilNode, *ast.StringNode, *ast.ConstantNode:
	case *ast.UnaryNode:
		k.walk(n.Node)
	case *ast.ConditionalNode:
		k.walk(n.Cond)
		k.walk(n.Exp1)
		k.walk(n.Exp2)
	case *ast.ArrayNode:
		if len(n.Nodes) > 50 {
			k.fail(n, "数组过长", "array literal too long")
		}
		for _, x := range n.Nodes {
			k.walk(x)
		}
	case *ast.BinaryNode:
		switch n.Operator {
		case "..", "matches", "contains", "startsWith", "endsWith", "??":
			k.fail(n, fmt.Sprintf("条件中不能使用运算符 %q", n.Operator), fmt.Sprintf("operator %q is not allowed in a condition", n.Operator))
			return
		}
		k.walk(n.Left)
		k.walk(n.Right)
	case *ast.BuiltinNode:
		if !contains(safeBuiltins(), n.Name) {
			k.fail(n, fmt.Sprintf("不能使用函数 %s", n.Name), fmt.Sprintf("function %s is not allowed", n.Name))
			return
		}
		for _, x := range n.Arguments {
			k.walk(x)
		}
	case *ast.CallNode:
		k.visitCall(n)
	default:
		k.fail(node, "条件中不允许此类写法（只允许测量量、数字、比较、逻辑运算和窗口函数）",
			fmt.Sprintf("construct %T is not allowed (measurements, numbers, comparisons, logic and window functions only)", n))
	}
}

func (k *checker) visitCall(n *ast.CallNode) {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		k.fail(n, "不支持此函数调用", "unsupported call")
		return
	}
	if _, ok := windowFuncs()[id.Value]; !ok {
		names := make([]string, 0, len(windowFuncs()))
		for f := range windowFuncs() {
			names = append(names, f)
		}
		sort.Strings(names)
		k.fail(n, fmt.Sprintf("未知函数 %s（可用：%s）", id.Value, strings.Join(names, ", ")),
			fmt.Sprintf("unknown function %s (known: %s)", id.Value, strings.Join(names, ", ")))
		return
	}
	if len(n.Arguments) != 2 {
		k.fail(n, fmt.Sprintf("%s 需要两个参数：%s(\"测量量\", \"时长\")", id.Value, id.Value),
			fmt.Sprintf("%s takes two arguments: %s(\"measurement\", \"duration\")", id.Value, id.Value))
		return
	}
	m, ok1 := n.Arguments[0].(*ast.StringNode)
	w, ok2 := n.Arguments[1].(*ast.StringNode)
	if !ok1 {
		k.fail(n.Arguments[0], "第一个参数须为带引号的测量量名称", "the first argument must be a quoted measurement name")
		return
	}
	if !ok2 {
		k.fail(n.Arguments[1], "第二个参数须为带引号的时长，如 \"15m\"", "the second argument must be a quoted duration such as \"15m\"")
		return
	}
	if !k.measurementOK(m, m.Value) {
		return
	}
	d, err := ParseDuration(w.Value)
	if err != nil || d <= 0 || d > MaxWindow {
		k.fail(w, "时长须在 0 到 24 小时之间，如 \"15m\"", "window must be a duration between 0 and 24h such as \"15m\"")
		return
	}
	key := id.Value + "|" + m.Value + "|" + d.String()
	if _, ok := k.slots[key]; !ok {
		if len(k.wins) >= MaxWindows {
			k.fail(n, "窗口函数过多", "too many window functions")
			return
		}
		slot := fmt.Sprintf("__w%d", len(k.wins))
		k.slots[key] = slot
		k.wins = append(k.wins, windowSpec{Fn: id.Value, Measurement: m.Value, Window: d, slot: slot})
	}
}

// patcher replaces window calls by their slot variables before type checking.
type patcher struct{ slots map[string]string }

// Visit implements ast.Visitor.
func (p patcher) Visit(node *ast.Node) {
	n, ok := (*node).(*ast.CallNode)
	if !ok || len(n.Arguments) != 2 {
		return
	}
	id, _ := n.Callee.(*ast.IdentifierNode)
	m, _ := n.Arguments[0].(*ast.StringNode)
	w, _ := n.Arguments[1].(*ast.StringNode)
	if id == nil || m == nil || w == nil {
		return
	}
	d, err := ParseDuration(w.Value)
	if err != nil {
		return
	}
	if slot, ok := p.slots[id.Value+"|"+m.Value+"|"+d.String()]; ok {
		ast.Patch(node, &ast.IdentifierNode{Value: slot})
	}
}

func (c *compiled) compileExpr(p ProfileInfo) error {
	src := c.rule.Condition
	cfg := conf.CreateNew()
	cfg.MaxNodes = MaxNodes
	safe := safeBuiltins()
	for _, b := range builtin.Builtins {
		if !contains(safe, b.Name) {
			cfg.Disabled[b.Name] = true
		}
	}
	tree, err := parser.ParseWithConfig(src, cfg)
	if err != nil {
		var fe *file.Error
		if errors.As(err, &fe) && strings.Contains(fe.Message, "exceed") {
			return newConditionError(src, fe.From, fmt.Sprintf("表达式过于复杂（最多 %d 个节点）", MaxNodes), fe.Message)
		}
		return fromExprError(src, err)
	}
	k := &checker{src: src, profile: p, vars: map[string]bool{}, slots: map[string]string{}}
	k.walk(tree.Node)
	if k.err != nil {
		return k.err
	}
	env := map[string]any{}
	for v := range k.vars {
		env[v] = 0.0
		c.vars = append(c.vars, v)
	}
	sort.Strings(c.vars)
	seen := map[string]bool{}
	for _, v := range c.vars {
		seen[v] = true
		c.measures = append(c.measures, v)
	}
	for _, w := range k.wins {
		env[w.slot] = 0.0
		if !seen[w.Measurement] {
			seen[w.Measurement] = true
			c.measures = append(c.measures, w.Measurement)
		}
	}
	c.wins = k.wins
	opts := []expr.Option{
		expr.Env(env),
		expr.AsBool(),
		expr.MaxNodes(MaxNodes),
		expr.DisableAllBuiltins(),
		expr.Patch(patcher{slots: k.slots}),
	}
	for _, b := range safe {
		opts = append(opts, expr.EnableBuiltin(b))
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return fromExprError(src, err)
	}
	c.prog = prog
	return nil
}
