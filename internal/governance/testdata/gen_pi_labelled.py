# Generates pi_labelled.jsonl (seeded, reproducible): templated positives and tricky
# negatives plus two hand-written batches. Labels come from the templates, never from the
# detector. Run: python3 internal/governance/testdata/gen_pi_labelled.py
import json, random
random.seed(20261128)
W=[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2]
def check(s17): return "10X98765432"[sum(int(c)*w for c,w in zip(s17,W))%11]
regions=["110105","310104","440305","510107","330106","320102","420106","370202","610113","120101","500103","130102","210102","350203","430104","450103","530102","650102","230102","410105","440106","320583","331002","360102"]
def rid(lower=False):
    r=random.choice(regions); y=random.randint(1940,2015); m=random.randint(1,12); d=random.randint(1,28)
    s=r+f"{y:04d}{m:02d}{d:02d}"+f"{random.randint(0,999):03d}"
    c=check(s)
    if lower and c=="X": c="x"
    return s+c
def luhn_complete(p):
    # append check digit
    digits=[int(c) for c in p]
    s=0
    for i,d in enumerate(reversed(digits)):
        if i%2==0:
            d*=2
            if d>9:d-=9
        s+=d
    return p+str((10-s%10)%10)
def card():
    pre=random.choice(["622202","621700","623058","622848","620522","4","51","53","955880"])
    n=random.choice([16,19]) if pre.startswith("62") or pre.startswith("95") else 16
    body=pre+"".join(random.choice("0123456789") for _ in range(n-1-len(pre)))
    return luhn_complete(body)
def mobile():
    return "1"+random.choice("3456789")+"".join(random.choice("0123456789") for _ in range(9))
def valid_id(s):
    if len(s)!=18 or not s[:17].isdigit(): return False
    return check(s[:17])==s[17].upper()
out=[]
def add(text, expect, header="", note=""):
    out.append({"text":text,"header":header,"expect":[{"kind":k,"value":v} for k,v in expect],"note":note})
# --- ID cards
for i in range(24):
    v=rid(lower=(i%6==0)); add(v,[("id_card",v)],random.choice(["","身份证号","证件号码","ID"]))
for i in range(6):
    v=rid(); add(random.choice(["申请人身份证号：{}，已核验","证件{}登记","公民身份号码{}。"]).format(v),[("id_card",v)],"","id in text")
# invalid-checksum IDs
for i in range(16):
    v=rid(); bad=v[:17]+random.choice([c for c in "0123456789X" if c!=v[17].upper()])
    add(bad,[],random.choice(["","身份证号"]),"invalid checksum id")
# random 18-digit numbers / order numbers
n=0
while n<14:
    v=str(random.randint(10**17,10**18-1))
    if valid_id(v): continue
    add(v,[],random.choice(["","订单号","流水号"]),"random 18-digit"); n+=1
for i in range(12):
    v="2026"+f"{random.randint(1,12):02d}{random.randint(1,28):02d}"+"".join(random.choice("0123456789") for _ in range(random.choice([8,10,12])))
    add(v,[],"订单号","order number")
    add("订单号"+v+"已受理",[],"","order number in text")
# --- mobiles
for i in range(20):
    m=mobile()
    fmt=random.choice(["{a}","{a}","+86 {b} {c} {d}","+86-{a}","{b}-{c}-{d}","{b} {c} {d}","0086{a}"])
    v=fmt.format(a=m,b=m[:3],c=m[3:7],d=m[7:])
    add(v,[("mobile",v)],random.choice(["","手机号","联系电话","mobile"]))
for i in range(8):
    m=mobile()
    add(random.choice(["请联系我{}，谢谢","电话：{}","居民来电（{}）反映路灯不亮","手机{}微信同号"]).format(m),[("mobile",m)],"","mobile in text")
# phone-like negatives
for v in ["13812345678.00","15900000000.5元","金额13900000000.25元","¥13,812,345,678","1732780800123","17327808001234","12812345678","10086123456","23812345678","1381234567","138123456789"]:
    add(v,[],"" ,"phone-like negative")
for i in range(8):
    ts=random.randint(1600000000,1800000000)
    add(str(ts),[],random.choice(["","时间戳","ts"]),"unix timestamp")
    add(str(ts*1000+random.randint(0,999)),[],"","ms timestamp")
for v in ["2026-11-28 07:04:33","20261128070433","2026/11/28","07:04:33.123"]:
    add(v,[],"","datetime")
# --- landlines
for i in range(14):
    area=random.choice(["010","021","022","023","020","0755","0571","0531","0351","0991"])
    ln=8 if len(area)==3 else random.choice([7,8])
    local=str(random.randint(2,9))+"".join(random.choice("0123456789") for _ in range(ln-1))
    v=random.choice(["{a}-{l}","({a}){l}","{a} {l}","{a}{l}"]).format(a=area,l=local)
    add(v,[("landline",v)],random.choice(["","座机","固定电话"]))
for v in ["400-820-8820","800-810-8888","95588","12345","110","0.5123","010-1234","2026-11-28"]:
    add(v,[],"","landline negative")
add("办公电话010-62345678，传真010-62345679",[("landline","010-62345678"),("landline","010-62345679")],"","landlines in text")
# --- bank cards
for i in range(18):
    c=card()
    v=c if i%3 else " ".join(c[j:j+4] for j in range(0,len(c),4))
    add(v,[("bank_card",v)],random.choice(["","银行卡号","账号"]))
for i in range(10):
    c=card(); bad=c[:-1]+str((int(c[-1])+random.randint(1,9))%10)
    add(bad,[],random.choice(["","银行卡号"]),"bad luhn")
for i in range(6):
    v=luhn_complete("8"+"".join(random.choice("0123456789") for _ in range(14)))
    add(v,[],"","luhn-valid but no issuer prefix")
add("补贴发放至户主银行卡6222021234567890128",[("name",None),("bank_card","6222021234567890128")][1:],"","card in text")
# --- emails
users=["zhangsan","li.si","wangwu88","chen_xiao","hx2026","service","a.b.c"]
doms=["example.com","qq.com","163.com","hexi.gov.cn","mail.example.org"]
for i in range(14):
    v=random.choice(users)+str(random.randint(0,99))+"@"+random.choice(doms)
    add(v,[("email",v)],random.choice(["","邮箱","email"]))
add("请发送至zhangsan@example.com或拨打电话",[("email","zhangsan@example.com")],"","email in text")
for v in ["user@localhost","@example.com","zhangsan@","a@b","版本v1.2@build"]:
    add(v,[],"","email negative")
# --- plates
provs="京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
L="ABCDEFGHJKLMNPQRSTUVWXYZ"
for i in range(16):
    p=random.choice(provs)+random.choice(L)
    kind=random.choice(["reg","reg","nev_s","nev_l"])
    if kind=="reg": rest="".join(random.choice("0123456789"+L[:8]) for _ in range(2))+"".join(random.choice("0123456789") for _ in range(3))
    elif kind=="nev_s": rest=random.choice("DF")+random.choice(L+"0123456789")+"".join(random.choice("0123456789") for _ in range(4))
    else: rest="".join(random.choice("0123456789") for _ in range(5))+random.choice("DF")
    sep=random.choice(["","","·"])
    v=p+sep+rest
    add(v,[("plate",v)],random.choice(["","车牌号","号牌"]))
add("车牌京A12345的车辆占用消防通道",[("plate","京A12345")],"","plate in text")
for v in ["京ABCDEF","京A","京O12345","沪A1234","A12345","新ABCDE","京A123456789"]:
    add(v,[],"","plate negative")
# --- names
names=["张三","李四","王小明","刘洋","陈静","杨帆","赵丽颖","黄磊","周杰","吴敏","欧阳娜娜","司马光明","诸葛亮","上官婉儿","东方明","孙悦","马超","郭靖","何平","高峰","林芳","买买提·艾力"]
for nm in names:
    add(nm,[("name",nm)],random.choice(["姓名","户主","联系人","申请人姓名"]))
for nm in ["张伟","李娜","王芳","刘强","欧阳华"]:
    add(random.choice(["联系人{}反映楼道漏水","户主：{}，家中三人","投诉人{}称噪声扰民","姓名 {}"]).format(nm),[("name",nm)],"","name with cue")
# name negatives: no header, or non-name header
for v in ["张三","李四","王小明"]:
    add(v,[],"","name without context")
for v in ["河西区","光明小区","白杨","金叶女贞","市政工程","高压线","明天","海河","平安路","国庆节"]:
    add(v,[],random.choice(["名称","树种","项目名称",""]),"non-name")
for v in ["王先生","张女士","李师傅"]:
    add(v,[],"","surname with title only")
# --- addresses
streets=["滨江路","解放大街","人民路","建设路","和平街","光明巷","长江大道","南京路"]
areas=["","河西区","河西区东湖街道","江苏省南京市鼓楼区"]
comms=["幸福小区","阳光花园","锦绣家园","东湖社区"]
for i in range(16):
    s=random.choice(areas)+random.choice(streets)+str(random.randint(1,999))+"号"
    if random.random()<0.5: s+=random.choice(comms)+str(random.randint(1,30))+"栋"+str(random.randint(1,6))+"单元"+str(random.randint(101,2802))+"室"
    add(s,[("address",s)],random.choice(["","住址","家庭地址","现住址"]))
for i in range(6):
    s=random.choice(comms)+str(random.randint(1,30))+"栋"+str(random.randint(1,6))+"单元"+str(random.randint(101,2802))+"室"
    add(s,[("address",s)],random.choice(["","住址"]))
add("我家住在河西区滨江路88号幸福小区3栋2单元501室，楼下路灯坏了",[("address","河西区滨江路88号幸福小区3栋2单元501室")],"","address in text")
for v in ["河西区","滨江路","地铁3号线","第5号文件","2号会议室","3号井盖","滨江路路灯","东湖街道"]:
    add(v,[],"","address negative")
# --- health
for v in ["高血压","糖尿病","高血压、糖尿病","肢体残疾二级","冠心病史","脑梗后遗症，偏瘫","阿尔茨海默病","无精神病史","肺癌术后","半失能"]:
    add(v,[("health",None)],random.choice(["","病史","健康状况"]))
add("独居老人患有糖尿病，行动不便",[("health","糖尿病")],"","health in text")
add("住户家中有一名残疾人需要帮扶",[("health","残疾人")],"","health in text")
for v in ["树木病虫害","路面病害","设备故障","血压计已到货","医院门口拥堵","健康步道破损"]:
    add(v,[],"","health negative")
# --- clean complaint texts
for v in ["路灯不亮三天了，请尽快维修","小区门口垃圾桶满溢","夜间施工噪声扰民，已持续一周","雨后路面积水严重","井盖缺失，存在安全隐患","3号楼电梯故障","PM2.5浓度为35微克每立方米","共计12345件工单已办结","温度23.5℃，湿度60%","设备编号A1-0001在线"]:
    add(v,[],"","clean text")
# --- mixed texts
m1=mobile(); i1=rid()
add(f"户主李建国，身份证{i1}，手机{m1}，患有高血压",[("name","李建国"),("id_card",i1),("mobile",m1),("health","高血压")],"","mixed")
m2=mobile()
add(f"反映人王芳（{m2}）称光明巷12号楼下污水外溢",[("name","王芳"),("mobile",m2),("address","光明巷12号")],"","mixed")

# --- hand-written hard cases (written without running the detector)
H=[
 ("请于本周五前联系010-6234-5678",[("landline","010-6234-5678")]),
 ("身份证号码为110105 19491231 002X",[("id_card","110105 19491231 002X")]),
 ("居民张某某反映楼道堆物",[]),
 ("患者刘女士需要上门服务",[]),
 ("联系人：小王",[]),
 ("金额：13800000000元",[]),
 ("我的QQ邮箱是123456@qq.com",[("email","123456@qq.com")]),
 ("住址：河西区滨江路",[]),
 ("地址：北京市海淀区中关村大街27号",[("address","北京市海淀区中关村大街27号")]),
 ("家住幸福里小区",[]),
 ("京a12345",[("plate","京a12345")]),
 ("粤B 12345",[("plate","粤B 12345")]),
 ("卡号 6222 0212 3456 7890 128",[("bank_card","6222 0212 3456 7890 128")]),
 ("血糖偏高，需复查",[("health","血糖")]),
 ("去年做过心脏搭桥手术",[("health","心脏搭桥手术")]),
 ("张伟说路灯坏了好几天",[("name","张伟")]),
 ("李大爷反映暖气不热",[]),
 ("请拨打12345热线或110报警",[]),
 ("工单编号GD2026112800123由区水务局办理",[]),
 ("设备IMEI 861234567890123 离线",[]),
 ("坐标113.264385,23.129112",[]),
 ("版本号 13.8.1234.5678",[]),
 ("电话：0755-8888 6666",[("landline","0755-8888 6666")]),
 ("紧急联系人：司马光明 15012345678",[("name","司马光明"),("mobile","15012345678")]),
 ("申请人欧阳修住东湖社区5栋1单元302室",[("name","欧阳修"),("address","东湖社区5栋1单元302室")]),
 ("孕妇一名，需优先安置",[("health","孕妇")]),
 ("该户有视力残疾人员",[("health","视力残疾")]),
 ("楼下王先生家漏水",[]),
 ("河西区人民路与建设路交叉口信号灯故障",[]),
 ("滨江路100号门前井盖缺失",[("address","滨江路100号")]),
 ("身份证后四位002X",[]),
 ("尾号5678的手机",[]),
 ("138****5678",[]),
 ("1****************X",[]),
 ("张**",[]),
]
for text, exp in H:
    add(text, exp, "", "hand-written")
H2=[("姓名","张三丰",[("name","张三丰")]),("姓名","王",[]),("姓名","张先生",[]),("姓名","不详",[]),("联系人","物业办公室",[]),
    ("户主","阿依古丽·买买提",[("name","阿依古丽·买买提")]),("手机号","13800138000 / 13900139000",[("mobile","13800138000"),("mobile","13900139000")]),
    ("身份证号","无",[]),("住址","同上",[]),("病史","无",[]),("备注","联系人李明13611112222",[("name","李明"),("mobile","13611112222")])]
for header, text, exp in H2:
    add(text, exp, header, "hand-written with header")


# --- second hand-written batch: written after tuning on the first, never tuned on
H3=[
 ("户籍地：四川省成都市武侯区人民南路四段12号",[("address","四川省成都市武侯区人民南路四段12号")]),
 ("送货到朝阳区建国路88号SOHO现代城A座1203",[("address","朝阳区建国路88号SOHO现代城A座1203")]),
 ("联系方式 186-0123-4567（微信同号）",[("mobile","186-0123-4567")]),
 ("tel:+8613912345678",[("mobile","+8613912345678")]),
 ("订单13912345678900已发货",[]),
 ("快递单号 SF1234567890123",[]),
 ("发票号码 04400201234567",[]),
 ("统一社会信用代码 91440300MA5FXXXX1X",[]),
 ("邮编 300061",[]),
 ("门牌号：3-2-501",[]),
 ("经办人：赵敏",[("name","赵敏")]),
 ("负责人 钱学森 电话 021-64381234",[("name","钱学森"),("landline","021-64381234")]),
 ("业主孙丽华反映电梯停运",[("name","孙丽华")]),
 ("投诉人称对方车牌为苏E·5Q2F8",[("plate","苏E·5Q2F8")]),
 ("新能源车浙AD12345违停",[("plate","浙AD12345")]),
 ("车辆鲁B8888挂",[("plate","鲁B8888挂")]),  # label corrected: trailer plates are valid
 ("工资卡 6217 0012 3456 7890",[]),
 ("社保卡号 6217001234567890124",[]),  # label corrected: fails Luhn
 ("护照号 E12345678",[]),
 ("老人有轻度认知障碍，需要定期探访",[("health","认知障碍")]),
 ("家中有透析病人，停水影响大",[("health","透析")]),
 ("她怀孕七个月了",[("health","怀孕")]),
 ("医保报销比例调整通知",[]),
 ("病历本丢失",[]),
 ("请联系区卫健委 0531-86123456",[("landline","0531-86123456")]),
 ("房间号1808，门禁卡号00012345",[]),
 ("身份证 440306199003071234",[]),
 ("ID 51343620000320711X 已登记",[("id_card","51343620000320711X")]),
 ("18位流水号 110105194912310021",[]),
 ("mail to: li_ming@hexi.gov.cn",[("email","li_ming@hexi.gov.cn")]),
 ("监护人司徒雷登已签字",[("name","司徒雷登")]),
 ("居民刘某",[]),
 ("联系人周",[]),
 ("地址不详",[]),
 ("幸福小区东门",[]),
 ("5号楼3单元楼道灯不亮",[]),
 ("家住解放路街道光华里3号院2号楼1门101",[("address","解放路街道光华里3号院2号楼1门101")]),
]
for text, exp in H3:
    add(text, exp, "", "hand-written batch 2")

# fix None values: health whole-value
for e in out:
    for x in e["expect"]:
        if x["value"] is None: x["value"]=e["text"]
import os
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),"pi_labelled.jsonl"),"w") as f:
    for e in out:
        if not e["header"]: del e["header"]
        if not e["note"]: del e["note"]
        f.write(json.dumps(e,ensure_ascii=False)+"\n")
print(len(out), sum(1 for e in out if e["expect"]), "positive")
