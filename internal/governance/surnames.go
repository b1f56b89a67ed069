package governance

import "strings"

// compoundSurnames returns the two-character surnames (复姓) the detector and the
// name masker keep whole.
func compoundSurnames() []string {
	return strings.Fields(`欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕
令狐 钟离 闻人 澹台 端木 南宫 西门 独孤 百里 呼延 万俟 第五 申屠 太史 单于 拓跋 赫连 司空
东郭 公冶 濮阳 淳于 仲孙 羊舌 左丘 梁丘 乐正 即墨 漆雕 壤驷 谷梁 宗政 巫马 亓官 公良 公西
颛孙 段干 百里 呼延 东门 西门 南门 太叔 申屠 公羊 贯丘 微生 子车 夹谷 鲜于 闾丘`)
}

// singleSurnames returns the common one-character surnames (about 400 from 百家姓 and
// census frequency lists).
func singleSurnames() string {
	return `王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖萧田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠荆乐冀郁胥南班储原栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻位厉伊仝区郜海阚花权强帅屠豆朴盖练廉禹井祖漆巴丰支卿国狄平计索宣晋相初门云容敬来扈晁芮都普阙浦戈伏鹿薄邸雍辜羊阿乌母裘亓修邰赫杭况那宿鲜印逯隆茹诸战慕危玉银亢嵇公哈湛宾戎勾茅利於呼居揭干但尉冶斯元束檀衣信展阴昝智幸奉植衡富尧闭由凤洪钮贝臧计伏成戴谈宋茅庞熊纪舒屈项祝董梁杜阮蓝闵席季麻强贾路娄危江童颜郭梅盛林刁钟徐邱骆高夏蔡田樊胡凌霍虞万支柯昝管卢莫经房裘缪干解应宗丁宣贲邓郁单杭洪包诸左石崔吉钮龚程嵇邢滑裴陆荣翁荀羊於惠甄曲家封芮羿储靳汲邴糜松井段富巫乌焦巴弓牧隗山谷车侯宓蓬全郗班仰秋仲伊宫宁仇栾暴甘钭厉戎祖武符刘景詹束龙叶幸司韶郜黎蓟薄印宿白怀蒲邰从鄂索咸籍赖卓蔺屠蒙池乔阴郁胥能苍双闻莘党翟谭贡劳逄姬申扶堵冉宰郦雍却璩桑桂濮牛寿通边扈燕冀郏浦尚农温别庄晏柴瞿阎充慕连茹习宦艾鱼容向古易慎戈廖庾终暨居衡步都耿满弘匡国文寇广禄阙东欧殳沃利蔚越夔隆师巩厍聂晁勾敖融冷訾辛阚那简饶空曾毋沙乜养鞠须丰巢关蒯相查后荆红游竺权逯盖益桓公`
}

// surnameSet is built once per Detector.
type surnameSet struct {
	single   map[rune]bool
	compound map[string]bool
}

func newSurnameSet() surnameSet {
	s := surnameSet{single: make(map[rune]bool, 512), compound: make(map[string]bool, 96)}
	for _, r := range singleSurnames() {
		s.single[r] = true
	}
	for _, c := range compoundSurnames() {
		s.compound[c] = true
	}
	return s
}

// surnameLen returns the number of runes of the surname at the start of name: 2 for a
// compound surname, 1 for a known single one, 0 otherwise.
func (s surnameSet) surnameLen(runes []rune) int {
	if len(runes) >= 3 && s.compound[string(runes[:2])] {
		return 2
	}
	if len(runes) >= 1 && s.single[runes[0]] {
		return 1
	}
	return 0
}
